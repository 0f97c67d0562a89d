// The catalog: products, their groups and categories, and products from
// provider plugins (sync and import).
import { Route, Routes } from "react-router";
import { CategoriesPage } from "./categories";
import { GroupsPage } from "./groups";
import { EditProductPage, NewProductPage, ProductDetail } from "./product-detail";
import { ProductList } from "./product-list";
import { UpstreamPage } from "./upstream";

export default function ProductsArea() {
  return (
    <Routes>
      <Route index element={<ProductList />} />
      <Route path="new" element={<NewProductPage />} />
      <Route path="groups" element={<GroupsPage />} />
      <Route path="categories" element={<CategoriesPage />} />
      <Route path="upstream" element={<UpstreamPage />} />
      <Route path=":id" element={<ProductDetail />} />
      <Route path=":id/edit" element={<EditProductPage />} />
    </Routes>
  );
}
