import { useTranslation } from "react-i18next";
import { Link, Route, Routes } from "react-router";
import { InterfacePage } from "./interface-page";
import { PluginsPage } from "./plugins-page";

/** /plugins: interfaces, definitions and circuit breakers; /plugins/interfaces/:id: one interface. */
export default function PluginsArea() {
  return (
    <Routes>
      <Route index element={<PluginsPage />} />
      <Route path="interfaces/:id" element={<InterfacePage />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}

function NotFound() {
  const { t } = useTranslation("plugins");
  return (
    <div className="grid gap-2">
      <h1 className="text-xl font-semibold">{t("notFound", { ns: "common" })}</h1>
      <Link className="text-primary underline" to="/plugins">
        {t("backToList")}
      </Link>
    </div>
  );
}
