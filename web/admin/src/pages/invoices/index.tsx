import { Route, Routes } from "react-router";
import { InvoiceDetail } from "./detail";
import { InvoiceList } from "./list";
import { NewInvoice } from "./new";

export default function InvoicesArea() {
  return (
    <Routes>
      <Route index element={<InvoiceList />} />
      <Route path="new" element={<NewInvoice />} />
      <Route path=":id" element={<InvoiceDetail />} />
    </Routes>
  );
}
