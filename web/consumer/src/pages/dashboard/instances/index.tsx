import { Route, Routes } from "react-router";
import InstanceDetail from "./detail";
import InstanceList from "./list";

export default function InstancesPage() {
  return (
    <Routes>
      <Route index element={<InstanceList />} />
      <Route path=":id" element={<InstanceDetail />} />
    </Routes>
  );
}
