// Placeholder until the products pages land.
export default function ProductsArea() {
  return <p data-todo="products">products</p>;
}
