import { Route, Routes } from "react-router";
import OrderDetail from "./detail";
import OrderList from "./list";

export default function OrdersPage() {
  return (
    <Routes>
      <Route index element={<OrderList />} />
      <Route path=":id" element={<OrderDetail />} />
    </Routes>
  );
}
