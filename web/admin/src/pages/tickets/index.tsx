// Support tickets: /tickets (list) and /tickets/:id (conversation).
import { Route, Routes } from "react-router";
import { TicketDetail } from "./detail";
import { TicketList } from "./list";

export default function TicketsArea() {
  return (
    <Routes>
      <Route index element={<TicketList />} />
      <Route path=":id" element={<TicketDetail />} />
    </Routes>
  );
}
