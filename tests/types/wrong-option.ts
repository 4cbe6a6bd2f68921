// Must NOT type-check (tests/browser/types.test.mjs): a misspelt option name.
import { Recommender } from "../../js/localrec.js";

export async function typo(rec: Recommender): Promise<void> {
  await rec.recommend({ k: 3, exludeSeen: false });
}
