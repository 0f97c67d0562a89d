import { Route, Routes } from "react-router";
import { PaymentDetail } from "./detail";
import { PaymentList } from "./list";

export default function PaymentsArea() {
  return (
    <Routes>
      <Route index element={<PaymentList />} />
      <Route path=":id" element={<PaymentDetail />} />
    </Routes>
  );
}
