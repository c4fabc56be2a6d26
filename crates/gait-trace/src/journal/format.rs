//! The on-disk format of the trace journal (version 1): segment headers,
//! record frames, and the scan that tells whole frames from torn ones.

use gait_digest::Sha256Hasher;

use crate::verify::MAX_TRACE_BYTES;

/// `schema_id` of journal segments (the first word of a segment header).
pub const JOURNAL_SCHEMA_ID: &str = "gait.trace.journal";
/// `schema_version` of journal segments.
pub const JOURNAL_SCHEMA_VERSION: &str = "1.0.0";

/// Frame magic: `GJR` and the frame format version 1.
pub(crate) const FRAME_MAGIC: [u8; 4] = *b"GJR\x01";
/// Bytes of a frame before its payload: magic 4, seq 8, len 4, prev 32
/// (the 32-byte link follows the payload).
const FRAME_HEAD: usize = 4 + 8 + 4 + 32;
/// Domain separation of the link digest.
const LINK_DOMAIN: &[u8] = b"gait.trace.journal/1\0";
/// The length of a segment header line:
/// `gait.trace.journal 1.0.0 <index:08> <first_seq:020>\n`.
pub(crate) const HEADER_LEN: usize =
    JOURNAL_SCHEMA_ID.len() + 1 + JOURNAL_SCHEMA_VERSION.len() + 1 + 8 + 1 + 20 + 1;
/// The chain digest before the first record.
pub(crate) const GENESIS: [u8; 32] = [0; 32];

/// A segment header.
pub(crate) fn header(index: u64, first_seq: u64) -> Vec<u8> {
    format!("{JOURNAL_SCHEMA_ID} {JOURNAL_SCHEMA_VERSION} {index:08} {first_seq:020}\n")
        .into_bytes()
}

/// Parses a segment header: `(index, first_seq)`.
pub(crate) fn parse_header(bytes: &[u8]) -> Option<(u64, u64)> {
    let line = bytes.get(..HEADER_LEN)?;
    let text = std::str::from_utf8(line).ok()?.strip_suffix('\n')?;
    let mut parts = text.split(' ');
    if parts.next()? != JOURNAL_SCHEMA_ID || parts.next()? != JOURNAL_SCHEMA_VERSION {
        return None;
    }
    let index = parts.next().filter(|p| p.len() == 8)?;
    let first = parts.next().filter(|p| p.len() == 20)?;
    if parts.next().is_some()
        || !index.bytes().all(|b| b.is_ascii_digit())
        || !first.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some((index.parse().ok()?, first.parse().ok()?))
}

/// The name of segment `index`.
pub(crate) fn segment_name(index: u64) -> String {
    format!("segment-{index:08}.gjl")
}

/// The index of a segment file name, when it is one.
pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("segment-")?.strip_suffix(".gjl")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The link (chain) digest of a record.
pub(crate) fn link(seq: u64, prev: &[u8; 32], payload: &[u8]) -> [u8; 32] {
    let mut h = Sha256Hasher::new();
    h.update(LINK_DOMAIN);
    h.update(&seq.to_le_bytes());
    h.update(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    h.update(prev);
    h.update(payload);
    *h.finalize().as_bytes()
}

/// Appends one frame to `out`; returns its link.
pub(crate) fn encode_frame(
    out: &mut Vec<u8>,
    seq: u64,
    prev: &[u8; 32],
    payload: &[u8],
) -> [u8; 32] {
    let link = link(seq, prev, payload);
    out.extend_from_slice(&FRAME_MAGIC);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(prev);
    out.extend_from_slice(payload);
    out.extend_from_slice(&link);
    link
}

/// One whole frame found by a scan.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// Byte offset of the frame in its segment.
    pub(crate) offset: u64,
    pub(crate) seq: u64,
    pub(crate) prev: [u8; 32],
    pub(crate) link: [u8; 32],
    /// Payload byte range in the segment.
    pub(crate) payload: std::ops::Range<usize>,
}

/// How a scan of one segment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tail {
    /// At the end of the file, or before bytes that are all zero
    /// (preallocated space).
    Clean,
    /// At a frame that is not whole. `resync` is the offset of the next
    /// whole frame after it, when there is one (then it is no torn tail
    /// but a corruption in the middle of the segment).
    Bad { offset: u64, resync: Option<u64> },
}

/// What a scan of one segment found.
#[derive(Debug)]
pub(crate) struct Scan {
    pub(crate) frames: Vec<Frame>,
    /// Where the whole frames end (the logical end of the segment).
    pub(crate) end: u64,
    pub(crate) tail: Tail,
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

fn digest_at(bytes: &[u8], at: usize) -> Option<[u8; 32]> {
    bytes.get(at..at.checked_add(32)?)?.try_into().ok()
}

/// Parses a whole frame at `at`: magic, a length within bounds, every byte
/// present and the link digest matching. Anything else is `None`.
pub(crate) fn frame_at(bytes: &[u8], at: usize) -> Option<Frame> {
    if bytes.get(at..at.checked_add(4)?)? != FRAME_MAGIC {
        return None;
    }
    let seq = u64_at(bytes, at + 4)?;
    let len = usize::try_from(u32_at(bytes, at + 12)?).ok()?;
    if len == 0 || len > MAX_TRACE_BYTES {
        return None;
    }
    let prev = digest_at(bytes, at + 16)?;
    let start = at.checked_add(FRAME_HEAD)?;
    let end = start.checked_add(len)?;
    let payload = bytes.get(start..end)?;
    let stored = digest_at(bytes, end)?;
    if link(seq, &prev, payload) != stored {
        return None;
    }
    Some(Frame {
        offset: u64::try_from(at).ok()?,
        seq,
        prev,
        link: stored,
        payload: start..end,
    })
}

/// Scans the frames of a segment (`bytes` is the whole file, header
/// included).
pub(crate) fn scan(bytes: &[u8]) -> Scan {
    scan_from(bytes, HEADER_LEN)
}

/// Scans on after a bad frame: the frames from `from` on (verification
/// keeps looking so it can report everything).
pub(crate) fn scan_from(bytes: &[u8], from: usize) -> Scan {
    let mut frames = Vec::new();
    let mut at = from;
    loop {
        let end = u64::try_from(at).unwrap_or(u64::MAX);
        let rest = bytes.get(at..).unwrap_or_default();
        if rest.iter().all(|b| *b == 0) {
            return Scan {
                frames,
                end,
                tail: Tail::Clean,
            };
        }
        match frame_at(bytes, at) {
            Some(frame) => {
                at = frame.payload.end + 32;
                frames.push(frame);
            }
            None => {
                let resync = (at + 1..bytes.len())
                    .find(|&i| {
                        bytes.get(i..i + 4) == Some(&FRAME_MAGIC[..])
                            && frame_at(bytes, i).is_some()
                    })
                    .and_then(|i| u64::try_from(i).ok());
                return Scan {
                    frames,
                    end,
                    tail: Tail::Bad {
                        offset: end,
                        resync,
                    },
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_length() {
        let h = header(7, 1234);
        assert_eq!(h.len(), HEADER_LEN);
        assert_eq!(parse_header(&h), Some((7, 1234)));
        let mut bad = h.clone();
        bad[0] = b'x';
        assert_eq!(parse_header(&bad), None);
        assert_eq!(parse_header(&h[..HEADER_LEN - 1]), None);
    }

    #[test]
    fn segment_names() {
        assert_eq!(segment_name(3), "segment-00000003.gjl");
        assert_eq!(parse_segment_name("segment-00000003.gjl"), Some(3));
        assert_eq!(parse_segment_name("segment-3.gjl"), None);
        assert_eq!(parse_segment_name(".segment-00000003.gjl.tmp"), None);
    }

    #[test]
    fn scan_tells_whole_from_torn_and_corrupt() {
        let mut seg = header(1, 0);
        let l0 = encode_frame(&mut seg, 0, &GENESIS, b"{\"a\":1}");
        let after_first = seg.len();
        encode_frame(&mut seg, 1, &l0, b"{\"b\":2}");
        let whole = seg.len();
        // Whole, then preallocated zeros.
        let mut padded = seg.clone();
        padded.resize(whole + 100, 0);
        let s = scan(&padded);
        assert_eq!(s.frames.len(), 2);
        assert_eq!(s.tail, Tail::Clean);
        assert_eq!(s.end, whole as u64);
        assert_eq!(s.frames[1].prev, l0);
        // Torn: every cut inside the second frame.
        for cut in after_first + 1..whole {
            let s = scan(&seg[..cut]);
            assert_eq!(s.frames.len(), 1, "cut {cut}");
            assert_eq!(
                s.tail,
                Tail::Bad {
                    offset: after_first as u64,
                    resync: None
                }
            );
        }
        // A flipped byte in the first frame: a later whole frame follows.
        let mut flipped = seg.clone();
        flipped[HEADER_LEN + 20] ^= 1;
        let s = scan(&flipped);
        assert!(s.frames.is_empty());
        assert_eq!(
            s.tail,
            Tail::Bad {
                offset: HEADER_LEN as u64,
                resync: Some(after_first as u64)
            }
        );
    }
}
