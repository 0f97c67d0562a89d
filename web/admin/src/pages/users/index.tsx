// The users area: /users (admin and customer users).
import { Route, Routes } from "react-router";
import UsersPage from "./list";

export default function UsersArea() {
  return (
    <Routes>
      <Route index element={<UsersPage />} />
    </Routes>
  );
}
