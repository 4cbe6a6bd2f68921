//! Reading a weights file while it downloads.
//!
//! [`StreamReader`] takes the file chunk by chunk as the network delivers it: the header is parsed
//! and validated as soon as its bytes (and the payload length after them) are in, each tensor is
//! decoded as soon as its bytes are, and the SHA-256 of the body can be computed as it arrives.
//! When the last byte is in, only the checksum comparison and the tensors of the last chunk are
//! left. Nothing is trusted before [`StreamReader::finish`] has checked the whole file exactly as
//! [`super::read_for_inference`] does (framing, header, trailer): a stream gives the same
//! [`Artefact`] as the whole file, or the same kind of error.
//!
//! Bounded: nothing is allocated from a length field; bytes are kept as they arrive, and a stream
//! that runs past the length its fields announce (or past [`MAX_STREAM_BYTES`]), or whose first
//! bytes are not a model's, is refused at that chunk.

use std::mem::MaybeUninit;

use sha2::{Digest, Sha256};

use super::{
    Artefact, DIGEST_LEN, Decoded, Digests, Header, Lengths, assemble, check_magic, corrupt,
    decode_tensor, lengths, open_lists, parse_header, read_version, unframe,
};
use crate::error::Result;

/// The largest file a stream may be (2 GiB): more than any shipped model needs, and what the
/// browser's 32-bit wasm memory can hold beside the model built from it. A stream that announces
/// or sends more is refused instead of growing until the memory runs out.
pub const MAX_STREAM_BYTES: usize = 1 << 31;

/// How far ahead of the bytes received the reader reserves room for the rest of the file at once.
const RESERVE_AHEAD: usize = 64 << 20;

/// A weights file read as it arrives; see the module documentation.
pub struct StreamReader {
    bytes: Vec<u8>,
    /// SHA-256 of the body so far, when hashing as the bytes arrive.
    hasher: Option<Sha256>,
    /// How many leading bytes `hasher` has taken.
    hashed: usize,
    /// The file's length, once both length fields are in.
    expected: Option<usize>,
    /// Once the header is in.
    parsed: Option<Parsed>,
}

/// The parsed header and the tensors decoded so far.
struct Parsed {
    header: Header,
    payload_start: usize,
    /// Per tensor of the header, in its order.
    decoded: Vec<Option<Decoded>>,
    /// Whether the header's per-item lists are read (at once for JSON lists, else when the
    /// payload's section is in).
    lists_read: bool,
}

impl StreamReader {
    /// A reader that hashes the body as it arrives when `hash` is true (for callers without a
    /// faster SHA-256 to give [`Self::finish`]); otherwise it hashes at the end if not given the
    /// digests.
    pub fn new(hash: bool) -> Self {
        Self {
            bytes: Vec::new(),
            hasher: hash.then(Sha256::new),
            hashed: 0,
            expected: None,
            parsed: None,
        }
    }

    /// The bytes received so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The header, once its bytes are in (validated, not yet covered by the checksum).
    pub fn header(&self) -> Option<&Header> {
        self.parsed.as_ref().map(|p| &p.header)
    }

    /// How many tensors are decoded so far.
    pub fn decoded(&self) -> usize {
        self.parsed
            .as_ref()
            .map_or(0, |p| p.decoded.iter().flatten().count())
    }

    /// Takes the next chunk. An error (not a model file, a damaged header, more bytes than the
    /// file's length fields announce) ends the read: drop the reader.
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        self.make_room(chunk.len())?;
        self.bytes.extend_from_slice(chunk);
        self.received()
    }

    /// [`Self::push`] for a chunk of `len` bytes that `fill` writes straight into the reader's
    /// buffer (one copy from a JS array, none through a `Vec` of its own, no zeroing first).
    ///
    /// # Safety
    /// `fill` must initialise every byte of the slice it is given (`len` long).
    pub unsafe fn push_with(
        &mut self,
        len: usize,
        fill: impl FnOnce(&mut [MaybeUninit<u8>]),
    ) -> Result<()> {
        self.make_room(len)?;
        let start = self.bytes.len();
        fill(&mut self.bytes.spare_capacity_mut()[..len]);
        // SAFETY: `make_room` reserved `len` bytes past `start`, which the caller promises `fill`
        // initialised.
        unsafe { self.bytes.set_len(start + len) };
        self.received()
    }

    /// Refuses a chunk of `len` more bytes than the file announces or than any stream may hold,
    /// and makes room for it (see `reserve`: growing the buffer by doubling took 75-82 ms of
    /// reallocation in browser profiles of a million-item model's load). A reservation that
    /// fails is an error, not an abort.
    fn make_room(&mut self, len: usize) -> Result<()> {
        if let Some(expected) = self.expected
            && len > expected - self.bytes.len()
        {
            return Err(longer(expected));
        }
        if len > MAX_STREAM_BYTES - self.bytes.len() {
            return Err(too_large());
        }
        self.reserve(len)
    }

    /// Room for `len` more bytes; for the whole rest of the file where its length is known and it
    /// is at most `RESERVE_AHEAD` away (so that a header announcing more than it brings cannot
    /// claim more memory than that), else growing as a `Vec` grows.
    fn reserve(&mut self, len: usize) -> Result<()> {
        let reserved = match self.expected {
            Some(expected) if expected - self.bytes.len() <= RESERVE_AHEAD => {
                self.bytes.try_reserve_exact(expected - self.bytes.len())
            }
            _ => self.bytes.try_reserve(len),
        };
        reserved.map_err(|_| {
            corrupt(format!(
                "no memory for a file of {} bytes",
                self.expected.unwrap_or(self.bytes.len() + len)
            ))
        })
    }

    /// Hashes and reads what the last chunk brought.
    fn received(&mut self) -> Result<()> {
        if let Some(hasher) = &mut self.hasher {
            // The last 32 bytes received may be the trailer; every byte before them is body.
            let end = self.bytes.len().saturating_sub(DIGEST_LEN);
            if end > self.hashed {
                hasher.update(&self.bytes[self.hashed..end]);
                self.hashed = end;
            }
        }
        self.advance()?;
        // The file's length may have just arrived: room for the rest now, not a chunk later.
        self.reserve(0)
    }

    fn advance(&mut self) -> Result<()> {
        let bytes = &self.bytes;
        if self.expected.is_none() {
            check_magic(bytes)?;
            if bytes.len() < 12 {
                return Ok(());
            }
            let version = read_version(bytes)?;
            if bytes.len() < 20 {
                return Ok(());
            }
            let Some(Lengths {
                header_end,
                payload_len,
                file_len: expected,
            }) = lengths(bytes, MAX_STREAM_BYTES)?
            else {
                return Ok(());
            };
            let payload_start = header_end + 8;
            if expected > MAX_STREAM_BYTES {
                return Err(too_large());
            }
            if bytes.len() > expected {
                return Err(longer(expected));
            }
            self.expected = Some(expected);
            let header = parse_header(&bytes[20..header_end], payload_len, version)?;
            self.parsed = Some(Parsed {
                decoded: header.tensors.iter().map(|_| None).collect(),
                lists_read: header.lists.is_none(),
                header,
                payload_start,
            });
        }
        let Some(p) = &mut self.parsed else {
            return Ok(());
        };
        let received = bytes.len().saturating_sub(p.payload_start);
        for (t, slot) in p.header.tensors.iter().zip(&mut p.decoded) {
            // `parse_header` checked every tensor's range against the payload length.
            if slot.is_none() && t.offset + t.bytes <= received {
                let at = p.payload_start + t.offset;
                *slot = Some(decode_tensor(t, &bytes[at..at + t.bytes], false)?);
            }
        }
        if let Some(entry) = &p.header.lists
            && !p.lists_read
            && entry.offset + entry.bytes <= received
        {
            open_lists(&mut p.header, &bytes[p.payload_start..])?;
            p.lists_read = true;
        }
        Ok(())
    }

    /// Checks the complete file (framing, header, SHA-256 trailer) and returns what
    /// [`super::read_for_inference`] would. `digests`, when given, are the file's SHA-256 digests
    /// computed elsewhere ([`Digests`]; e.g. the browser's native SHA-256 over [`Self::bytes`]).
    pub fn finish(mut self, digests: Option<&Digests>) -> Result<Artefact> {
        let digests = match digests {
            Some(d) => d.clone(),
            None => self.digests(),
        };
        let parsed = self.parsed.take();
        let frame = unframe(&self.bytes, Some(&digests))?;
        // The file is complete and intact, so its header was parsed and every tensor decoded as
        // it arrived (unless a `push` failed and the caller went on).
        let incomplete = || corrupt("the file was not read to its end");
        let Parsed {
            header,
            decoded,
            lists_read,
            ..
        } = parsed.ok_or_else(incomplete)?;
        if !lists_read {
            return Err(incomplete());
        }
        let decoded = decoded
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(incomplete)?;
        Ok(assemble(
            header,
            decoded,
            frame.sha256,
            self.bytes.len(),
            frame.version,
        ))
    }

    /// The body's and the whole file's SHA-256, continuing from what was hashed on arrival.
    fn digests(&mut self) -> Digests {
        let body_end = self.bytes.len().saturating_sub(DIGEST_LEN);
        let mut hasher = match self.hasher.take() {
            Some(h) => h,
            None => {
                self.hashed = 0;
                Sha256::new()
            }
        };
        hasher.update(&self.bytes[self.hashed.min(body_end)..body_end]);
        let body = hasher.clone().finalize().into();
        hasher.update(&self.bytes[body_end..]);
        Digests {
            body,
            file: hasher.finalize().into(),
        }
    }
}

fn too_large() -> crate::error::Error {
    corrupt(format!(
        "the file is larger than a model may be ({MAX_STREAM_BYTES} bytes): damaged, or not a model"
    ))
}

fn longer(expected: usize) -> crate::error::Error {
    corrupt(format!(
        "the file is longer than its length fields say ({expected} bytes): damaged or padded"
    ))
}

#[cfg(all(test, feature = "train"))]
mod tests {
    use super::super::tests::{bytes, bytes_with, coded_tiny, json_lists, stored};
    use super::super::{Storage, read_for_inference};
    use super::*;
    use crate::format::quant::Encoding;

    /// `file` pushed in chunks of `size`, then finished.
    fn streamed(
        file: &[u8],
        size: usize,
        hash: bool,
        digests: Option<&Digests>,
    ) -> Result<Artefact> {
        let mut reader = StreamReader::new(hash);
        for chunk in file.chunks(size) {
            reader.push(chunk)?;
        }
        reader.finish(digests)
    }

    fn same(a: &Artefact, b: &Artefact) {
        assert_eq!(
            serde_json::to_value(&a.header).unwrap(),
            serde_json::to_value(&b.header).unwrap()
        );
        assert_eq!(a.weights, b.weights);
        assert_eq!(a.item_table, b.item_table);
        assert_eq!(
            (&a.sha256, a.size, a.version),
            (&b.sha256, b.size, b.version)
        );
    }

    fn digests_of(file: &[u8]) -> Digests {
        let body = file.len() - DIGEST_LEN;
        Digests {
            body: Sha256::digest(&file[..body]).into(),
            file: Sha256::digest(file).into(),
        }
    }

    #[test]
    fn any_chunking_gives_what_the_whole_file_gives() {
        let files = [
            bytes(),
            bytes_with(Encoding::Int4),
            // An f32 checkpoint: its item table is quantised to int8 on read, as for a whole file.
            stored(Storage::F32),
            coded_tiny().0,
            // Lists in the JSON header, as before version 7.
            json_lists(&bytes()),
        ];
        for file in &files {
            let whole = read_for_inference(file, None).unwrap();
            for size in [1, 7, 20, 64, 1000, file.len()] {
                for hash in [false, true] {
                    same(&streamed(file, size, hash, None).unwrap(), &whole);
                }
                same(
                    &streamed(file, size, false, Some(&digests_of(file))).unwrap(),
                    &whole,
                );
            }
        }
    }

    /// The point of streaming: the header is parsed and the tensors decoded while the rest is
    /// still on its way.
    #[test]
    fn the_header_and_tensors_are_read_before_the_file_ends() {
        let file = bytes();
        let header_len = u64::from_le_bytes(file[12..20].try_into().unwrap()) as usize;
        let payload_start = 20 + header_len + 8;
        let mut reader = StreamReader::new(true);
        reader.push(&file[..payload_start - 1]).unwrap();
        assert!(reader.header().is_none());
        reader
            .push(&file[payload_start - 1..payload_start])
            .unwrap();
        let tensors = reader.header().expect("header parsed").tensors.len();
        assert_eq!(reader.decoded(), 0);
        reader
            .push(&file[payload_start..file.len() - DIGEST_LEN])
            .unwrap();
        assert_eq!(
            reader.decoded(),
            tensors,
            "every tensor decoded before the trailer"
        );
        assert_eq!(
            reader.header().unwrap().items.len(),
            3,
            "the per-item lists read before the trailer"
        );
        reader.push(&file[file.len() - DIGEST_LEN..]).unwrap();
        same(
            &reader.finish(None).unwrap(),
            &read_for_inference(&file, None).unwrap(),
        );
    }

    #[test]
    fn truncated_tampered_or_padded_streams_are_refused() {
        let file = bytes();
        for cut in [
            0,
            4,
            11,
            12,
            30,
            file.len() / 2,
            file.len() - 33,
            file.len() - 1,
        ] {
            let err = streamed(&file[..cut], 5, true, None).unwrap_err();
            assert_eq!(err.code(), "MODEL_CORRUPT", "cut at {cut}: {err}");
        }
        for at in [25, file.len() / 2, file.len() - 40, file.len() - 1] {
            let mut t = file.clone();
            t[at] ^= 0x40;
            for hash in [false, true] {
                let err = streamed(&t, 9, hash, None).unwrap_err();
                assert_eq!(err.code(), "MODEL_CORRUPT", "flip at {at}: {err}");
            }
        }
        // Digests that do not match the bytes: a checksum mismatch, as for a whole file.
        let mut wrong = digests_of(&file);
        wrong.body[0] ^= 1;
        let err = streamed(&file, 100, false, Some(&wrong)).unwrap_err();
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
        // A byte past the announced length is refused at the chunk that brings it.
        let mut reader = StreamReader::new(false);
        reader.push(&file).unwrap();
        let err = reader.push(&[0]).unwrap_err();
        assert!(
            err.to_string().contains("longer than its length fields"),
            "{err}"
        );
        let mut padded = file.clone();
        padded.push(0);
        assert!(StreamReader::new(true).push(&padded).is_err());
    }

    /// Damaged files read as a stream and at once agree: the same artefact, or an error from
    /// both (seeded mutations of three kinds of file: byte flips, cuts, extensions, each pushed
    /// in random chunks, hashing here or given digests of the damaged bytes).
    #[test]
    fn streams_and_whole_files_agree_on_damaged_input() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let files = [
            bytes(),
            bytes_with(Encoding::Int4),
            stored(Storage::F32),
            coded_tiny().0,
            json_lists(&bytes()),
        ];
        let mut rng = StdRng::seed_from_u64(18);
        let (mut accepted, mut refused) = (0, 0);
        for round in 0..3000 {
            let mut file = files[round % files.len()].clone();
            match rng.random_range(0..4) {
                0 => {
                    for _ in 0..rng.random_range(1..4) {
                        let at = rng.random_range(0..file.len());
                        file[at] ^= 1 << rng.random_range(0..8);
                    }
                }
                1 => file.truncate(rng.random_range(0..file.len())),
                2 => file.extend((0..rng.random_range(1..64)).map(|_| rng.random::<u8>())),
                // Damage inside, then the trailer made good again: the parser sees it all.
                _ => {
                    let at = rng.random_range(12..file.len() - DIGEST_LEN);
                    file[at] = rng.random();
                    let body = file.len() - DIGEST_LEN;
                    let digest = Sha256::digest(&file[..body]);
                    file[body..].copy_from_slice(&digest);
                }
            }
            let whole = read_for_inference(&file, None);
            let given = (file.len() >= DIGEST_LEN).then(|| digests_of(&file));
            let mut reader = StreamReader::new(given.is_none() || rng.random());
            let mut rest = &file[..];
            let mut pushed = Ok(());
            while !rest.is_empty() && pushed.is_ok() {
                let (chunk, tail) = rest.split_at(rng.random_range(1..=rest.len().min(300)));
                pushed = reader.push(chunk);
                rest = tail;
            }
            let streamed = pushed.and_then(|()| reader.finish(given.as_ref()));
            match (&whole, &streamed) {
                (Ok(a), Ok(b)) => {
                    same(a, b);
                    accepted += 1;
                }
                (Err(_), Err(e)) => {
                    assert!(matches!(e.code(), "MODEL_CORRUPT" | "MODEL_VERSION"), "{e}");
                    refused += 1;
                }
                _ => panic!(
                    "round {round}: whole file {:?}, stream {:?}",
                    whole.map(|_| ()),
                    streamed.map(|_| ())
                ),
            }
        }
        // Both outcomes were exercised (a flip in a float can leave a valid file).
        assert!(
            accepted > 0 && refused > 0,
            "{accepted} accepted, {refused} refused"
        );
    }

    /// Once the file's length is known its rest is reserved at once (the buffer never moves
    /// again), unless it is far ahead of what has arrived; `push_with` reads as `push` does.
    #[test]
    fn room_for_the_file_is_reserved_once_and_never_far_ahead() {
        // Once the lengths are in, the whole file fits without the buffer moving again.
        let file = bytes();
        let mut reader = StreamReader::new(true);
        let mut reserved = None;
        for chunk in file.chunks(64) {
            reader.push(chunk).unwrap();
            if reader.expected.is_some() {
                let now = (reader.bytes.capacity(), reader.bytes.as_ptr());
                assert_eq!(*reserved.get_or_insert(now), now);
            }
        }
        assert_eq!(reserved.unwrap().0, file.len());
        let whole = read_for_inference(&file, None).unwrap();
        same(&reader.finish(None).unwrap(), &whole);
        // A length far ahead of what has arrived reserves only what arrives.
        let mut reader = StreamReader::new(false);
        reader.expected = Some(1 << 30);
        reader.push(&[0; 100]).unwrap();
        assert!(
            reader.bytes.capacity() < 1 << 20,
            "{}",
            reader.bytes.capacity()
        );
        // `push_with` takes the bytes its closure writes.
        let mut a = StreamReader::new(true);
        for chunk in file.chunks(1000) {
            // SAFETY: the closure writes every byte of `dst`.
            unsafe {
                a.push_with(chunk.len(), |dst| {
                    dst.write_copy_of_slice(chunk);
                })
            }
            .unwrap();
        }
        same(&a.finish(None).unwrap(), &whole);
    }

    /// Hostile first bytes end the read at once, before the rest of the stream arrives and
    /// without allocating from the length fields.
    #[test]
    fn hostile_prefixes_are_refused_early() {
        let mut foreign = bytes();
        foreign[0] = b'X';
        let err = StreamReader::new(true).push(&foreign[..8]).unwrap_err();
        assert!(err.to_string().contains("magic"), "{err}");
        let mut version = bytes();
        version[8..12].copy_from_slice(&99u32.to_le_bytes());
        let err = StreamReader::new(true).push(&version[..12]).unwrap_err();
        assert_eq!(err.code(), "MODEL_VERSION", "{err}");
        for header_len in [u64::MAX, u64::MAX - 20, u64::MAX - 25, 1 << 62] {
            let mut b = bytes();
            b[12..20].copy_from_slice(&header_len.to_le_bytes());
            let mut reader = StreamReader::new(true);
            // Either refused at once or waiting for bytes that never come; never a panic.
            let pushed = reader.push(&b[..20]).and_then(|()| reader.push(&b[20..]));
            let err = pushed
                .and_then(|()| reader.finish(None).map(|_| ()))
                .unwrap_err();
            assert_eq!(err.code(), "MODEL_CORRUPT", "{header_len}: {err}");
        }
        // Lengths past the 2 GiB bound: refused when announced, before any such amount arrives.
        let mut b = bytes();
        b[12..20].copy_from_slice(&(MAX_STREAM_BYTES as u64).to_le_bytes());
        let err = StreamReader::new(true).push(&b[..20]).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        let mut b = bytes();
        let header_len = u64::from_le_bytes(b[12..20].try_into().unwrap()) as usize;
        b[20 + header_len..28 + header_len]
            .copy_from_slice(&(MAX_STREAM_BYTES as u64).to_le_bytes());
        let err = StreamReader::new(true).push(&b).unwrap_err();
        assert!(
            err.to_string().contains("larger than a model may be"),
            "{err}"
        );
        // A payload length that overflows with the trailer.
        let mut b = bytes();
        let header_len = u64::from_le_bytes(b[12..20].try_into().unwrap()) as usize;
        b[20 + header_len..28 + header_len].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = StreamReader::new(true).push(&b).unwrap_err();
        assert_eq!(err.code(), "MODEL_CORRUPT", "{err}");
    }
}
