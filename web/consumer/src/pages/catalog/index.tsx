// Placeholder until the catalog page lands.
export default function CatalogPage() {
  return <p data-todo="catalog">catalog</p>;
}
