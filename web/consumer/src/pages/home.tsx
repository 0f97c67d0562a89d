// Placeholder until the home page lands.
export default function HomePage() {
  return <p data-todo="home">home</p>;
}
