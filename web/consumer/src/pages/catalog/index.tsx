// The public catalog: categories → groups → products, and the product
// detail page with its configurator and order form. Works anonymously.
import { Route, Routes } from "react-router";
import { Catalog } from "./catalog";
import { ProductDetail } from "./product";

export default function CatalogArea() {
  return (
    <Routes>
      <Route index element={<Catalog />} />
      <Route path=":productId" element={<ProductDetail />} />
    </Routes>
  );
}
