// The customers area: /customers (list, new customer) and /customers/:id.
import { Route, Routes } from "react-router";
import CustomerDetailPage from "./detail";
import CustomerListPage from "./list";

export default function CustomersArea() {
  return (
    <Routes>
      <Route index element={<CustomerListPage />} />
      <Route path=":id" element={<CustomerDetailPage />} />
    </Routes>
  );
}
