//! `localrec synth` is deterministic: the same seed gives the same bytes. The demo model, the
//! storefront tests and the figures in the README all stand on it, so a refactor of the
//! generator must not change a byte. The hashes were taken before the generator was restructured.

#![cfg(feature = "train")]

use sha2::{Digest, Sha256};

use localrec::train::synth::{SynthConfig, generate, write};

#[test]
fn seed_42_gives_the_same_bytes() {
    let shop = generate(&SynthConfig {
        items: 300,
        shoppers: 400,
        seed: 42,
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(&shop, dir.path()).unwrap();
    for (file, expected) in [
        (
            "catalog.json",
            "2d852bc0039f9920c12b9a8892271101baad676b50a9ade131800ca60eb24661",
        ),
        (
            "events.csv",
            "5491eee1dd22a8b8ea51df1ced8bb774ff6dadeefb5b5cae0e7ee7a49d1aabab",
        ),
        (
            "offers.json",
            "88ef4b9f32bf6c5c740f6959c3d71b1f98920f109c20c3166da557195cea5cdf",
        ),
    ] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap();
        let got: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, expected, "{file} changed");
    }
}
