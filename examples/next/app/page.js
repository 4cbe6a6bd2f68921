// A server component (prerendered at build time) that renders the client component below.
import Recommendations from "./recommendations.js";

export default function Page() {
  return (
    <main>
      <h1>Shop</h1>
      <Recommendations />
    </main>
  );
}
