//! Hostile archives given to `gait verify` and `gait pack verify`, run as a
//! real process.
//!
//! Every archive is generated here, byte by byte, by a small zip writer
//! that can lie in any header field: traversal and otherwise unsafe names,
//! duplicate names, 100,000 entries, deflate bombs (1 GiB of zeros),
//! truncated and inconsistent headers, unsupported compression methods,
//! encryption, symlinks and directories. Each must be rejected with exit 2
//! (the evidence does not verify), or 6 where the file is not a readable
//! archive at all, without a panic and quickly.
//!
//! The per-case wall times are printed (`cargo test -p gait-cli --test
//! cli_hostile -- --nocapture`); the assertion on time is deliberately
//! loose (10 s) so that a loaded CI machine does not make the test flaky.
//! The target is 2 s per case (see `docs/PERFORMANCE.md`). With
//! `GAIT_HOSTILE_KEEP_DIR=<dir>` every archive is also written to `<dir>`
//! for measuring peak memory outside the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr,
    reason = "test code: a failure should panic, and the timing table is printed"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gait_pack::archive::Archive;

/// A hang detector, not a performance bound: no hostile archive may keep
/// `gait` running this long. The largest legitimate case (a 90 MiB
/// declared entry, inflated and hashed by a debug build) takes 3-6 s on an
/// idle 2-core machine and up to 20 s while other builds run, so the bound
/// leaves room for a loaded CI machine; speed is measured in
/// `docs/PERFORMANCE.md`, never here.
const MAX_RUN: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------------------
// A zip writer that can lie.

/// One entry as written: every header field can be set independently.
#[derive(Clone)]
struct Ent {
    /// Name in the central directory.
    name: Vec<u8>,
    /// Name in the local header (defaults to `name`).
    local_name: Option<Vec<u8>>,
    method: u16,
    flags: u16,
    crc: u32,
    /// The bytes after the local header (already compressed).
    data: Vec<u8>,
    /// Declared uncompressed size.
    size: u64,
    /// Declared compressed size (defaults to `data.len()`).
    csize: Option<u64>,
    /// Central "version made by" (high byte 3 = Unix).
    made_by: u16,
    /// Central external attributes (Unix mode in the high 16 bits).
    external: u32,
    /// Extra field (both headers).
    extra: Vec<u8>,
    /// Local header offset override (central directory).
    offset: Option<u64>,
    /// Write no local header and data at all (central entry only).
    central_only: bool,
}

impl Ent {
    /// A well-formed stored entry.
    fn stored(name: &str, data: &[u8]) -> Self {
        Self {
            name: name.as_bytes().to_vec(),
            local_name: None,
            method: 0,
            flags: 0,
            crc: crc32(data),
            data: data.to_vec(),
            size: data.len() as u64,
            csize: None,
            made_by: (3 << 8) | 20,
            external: 0o100644 << 16,
            extra: Vec::new(),
            offset: None,
            central_only: false,
        }
    }

    /// A well-formed deflated entry.
    fn deflated(name: &str, data: &[u8]) -> Self {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        Self {
            method: 8,
            data: enc.finish().unwrap(),
            ..Self::stored(name, data)
        }
    }

    fn named(mut self, name: &[u8]) -> Self {
        self.name = name.to_vec();
        self
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

/// End of central directory options.
#[derive(Clone, Copy, Default)]
struct Eocd {
    /// Write a zip64 end record and locator (counts and offsets 0xFFFF…).
    zip64: bool,
    /// Override the 16-bit entry counts.
    count16: Option<u16>,
    /// Override the central directory offset.
    cd_offset: Option<u32>,
    /// Override the central directory size.
    cd_size: Option<u32>,
}

fn u16le(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn u32le(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn u64le(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn zip_bytes(entries: &[Ent], eocd: Eocd) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::with_capacity(entries.len());
    for e in entries {
        offsets.push(out.len() as u64);
        if e.central_only {
            continue;
        }
        let name = e.local_name.as_ref().unwrap_or(&e.name);
        u32le(&mut out, 0x0403_4b50);
        u16le(&mut out, 20);
        u16le(&mut out, e.flags);
        u16le(&mut out, e.method);
        u16le(&mut out, 0); // time
        u16le(&mut out, 0x21); // 1980-01-01
        u32le(&mut out, e.crc);
        u32le(&mut out, e.csize.unwrap_or(e.data.len() as u64) as u32);
        u32le(&mut out, e.size as u32);
        u16le(&mut out, name.len() as u16);
        u16le(&mut out, e.extra.len() as u16);
        out.extend_from_slice(name);
        out.extend_from_slice(&e.extra);
        out.extend_from_slice(&e.data);
    }
    let cd_start = out.len() as u64;
    for (e, off) in entries.iter().zip(&offsets) {
        u32le(&mut out, 0x0201_4b50);
        u16le(&mut out, e.made_by);
        u16le(&mut out, 20);
        u16le(&mut out, e.flags);
        u16le(&mut out, e.method);
        u16le(&mut out, 0);
        u16le(&mut out, 0x21);
        u32le(&mut out, e.crc);
        u32le(&mut out, e.csize.unwrap_or(e.data.len() as u64) as u32);
        u32le(&mut out, e.size as u32);
        u16le(&mut out, e.name.len() as u16);
        u16le(&mut out, e.extra.len() as u16);
        u16le(&mut out, 0); // comment
        u16le(&mut out, 0); // disk
        u16le(&mut out, 0); // internal attributes
        u32le(&mut out, e.external);
        u32le(&mut out, e.offset.unwrap_or(*off) as u32);
        out.extend_from_slice(&e.name);
        out.extend_from_slice(&e.extra);
    }
    let cd_end = out.len() as u64;
    let n = entries.len() as u64;
    if eocd.zip64 {
        let zip64_at = out.len() as u64;
        u32le(&mut out, 0x0606_4b50);
        u64le(&mut out, 44);
        u16le(&mut out, 45);
        u16le(&mut out, 45);
        u32le(&mut out, 0);
        u32le(&mut out, 0);
        u64le(&mut out, n);
        u64le(&mut out, n);
        u64le(&mut out, cd_end - cd_start);
        u64le(&mut out, cd_start);
        u32le(&mut out, 0x0706_4b50);
        u32le(&mut out, 0);
        u64le(&mut out, zip64_at);
        u32le(&mut out, 1);
    }
    let count = eocd
        .count16
        .unwrap_or(if eocd.zip64 { 0xFFFF } else { n as u16 });
    u32le(&mut out, 0x0605_4b50);
    u16le(&mut out, 0);
    u16le(&mut out, 0);
    u16le(&mut out, count);
    u16le(&mut out, count);
    let size = if eocd.zip64 {
        0xFFFF_FFFF
    } else {
        (cd_end - cd_start) as u32
    };
    u32le(&mut out, eocd.cd_size.unwrap_or(size));
    let offset = if eocd.zip64 {
        0xFFFF_FFFF
    } else {
        cd_start as u32
    };
    u32le(&mut out, eocd.cd_offset.unwrap_or(offset));
    u16le(&mut out, 0);
    out
}

fn zip(entries: &[Ent]) -> Vec<u8> {
    zip_bytes(entries, Eocd::default())
}

// ---------------------------------------------------------------------------
// Base archives: the reference's runpack and pack, re-written stored by the
// writer above (the control cases check that they still verify).

fn data_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

fn entries_of(file: &str) -> Vec<(String, Vec<u8>)> {
    let f = std::fs::File::open(data_path(&format!("gait-pack/tests/data/{file}"))).unwrap();
    let mut a = Archive::open(f).unwrap();
    let names: Vec<String> = a.entries().iter().map(|e| e.name.clone()).collect();
    names
        .into_iter()
        .map(|n| {
            let d = a.read(&n, 1 << 20).unwrap();
            (n, d)
        })
        .collect()
}

fn runpack_entries() -> Vec<Ent> {
    entries_of("runpack_run_tck_signed.zip")
        .iter()
        .map(|(n, d)| Ent::stored(n, d))
        .collect()
}

fn pack_entries() -> Vec<Ent> {
    entries_of("pack_run_demo_signed.zip")
        .iter()
        .map(|(n, d)| Ent::stored(n, d))
        .collect()
}

/// `base` with the entry called `name` replaced by `with(entry)`.
fn replace(mut base: Vec<Ent>, name: &str, with: impl FnOnce(Ent) -> Ent) -> Vec<Ent> {
    let i = base.iter().position(|e| e.name == name.as_bytes()).unwrap();
    let e = base.remove(i);
    base.insert(i, with(e));
    base
}

fn plus(mut base: Vec<Ent>, extra: Ent) -> Vec<Ent> {
    base.push(extra);
    base
}

/// A raw deflate stream of `chunks` MiB of zeros, streamed rather than
/// held: zlib (level 9) compresses one MiB of zeros once, ending with a
/// sync flush so its blocks are non-final and byte-aligned; since every
/// block decodes to zeros whatever window precedes it, the stream is those
/// blocks `chunks` times over, then an empty final block. About 1 KiB per
/// MiB (1,000:1 like a plain zlib bomb), and cheap even in a debug build.
fn zeros_deflate(chunks: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let mut c = flate2::Compress::new(flate2::Compression::best(), false);
    let mut block = Vec::with_capacity(8 << 10);
    let status = c
        .compress_vec(&zeros, &mut block, flate2::FlushCompress::Sync)
        .unwrap();
    assert_eq!(status, flate2::Status::Ok);
    assert_eq!(c.total_in(), 1 << 20);
    let mut out = Vec::with_capacity(block.len() * chunks + 2);
    for _ in 0..chunks {
        out.extend_from_slice(&block);
    }
    // BFINAL=1, BTYPE=01 (fixed Huffman), end of block.
    out.extend_from_slice(&[0x03, 0x00]);
    out
}

/// The CRC-32 of `n` zero bytes, by squaring the (linear) operator that
/// feeds one zero byte through the CRC register.
fn crc32_of_zeros(n: u64) -> u32 {
    type Op = [u32; 32];
    fn apply(op: &Op, v: u32) -> u32 {
        (0..32)
            .filter(|i| v >> i & 1 == 1)
            .fold(0, |acc, i| acc ^ op[i])
    }
    fn compose(a: &Op, b: &Op) -> Op {
        std::array::from_fn(|i| apply(a, b[i]))
    }
    let byte = |mut c: u32| {
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        c
    };
    // One zero byte: state -> table[state & 0xff] ^ (state >> 8).
    let mut power: Op = std::array::from_fn(|i| {
        let e = 1u32 << i;
        byte(e & 0xff) ^ (e >> 8)
    });
    let mut result: Op = std::array::from_fn(|i| 1u32 << i);
    let mut k = n;
    while k > 0 {
        if k & 1 == 1 {
            result = compose(&power, &result);
        }
        power = compose(&power, &power);
        k >>= 1;
    }
    apply(&result, 0xFFFF_FFFF) ^ 0xFFFF_FFFF
}

/// The deflate of 1 GiB of zeros and its CRC (built once).
fn zero_bomb() -> &'static (Vec<u8>, u32) {
    static BOMB: OnceLock<(Vec<u8>, u32)> = OnceLock::new();
    BOMB.get_or_init(|| (zeros_deflate(1024), crc32_of_zeros(GIB)))
}

#[test]
fn bomb_generator_is_right() {
    use std::io::Read;
    for chunks in [1, 3] {
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(zeros_deflate(chunks).as_slice())
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), chunks << 20);
        assert!(out.iter().all(|&b| b == 0));
        assert_eq!(crc32_of_zeros(out.len() as u64), crc32(&out));
    }
    for n in [0u64, 1, 7, 1000] {
        assert_eq!(crc32_of_zeros(n), crc32(&vec![0; n as usize]), "n={n}");
    }
}

const GIB: u64 = 1 << 30;

/// An entry whose data is the 1 GiB bomb; `declared` is the size its
/// headers claim.
fn bomb_entry(name: &str, declared: u64) -> Ent {
    let (data, crc) = zero_bomb();
    Ent {
        method: 8,
        crc: *crc,
        data: data.clone(),
        size: declared,
        ..Ent::stored(name, b"")
    }
}

/// `n` empty stored entries `f000000`…
fn many(n: usize) -> Vec<Ent> {
    (0..n)
        .map(|i| Ent::stored(&format!("f{i:06}"), b""))
        .collect()
}

// ---------------------------------------------------------------------------
// Running gait.

struct Run {
    code: i32,
    elapsed: Duration,
    stdout: String,
    stderr: String,
}

fn gait(args: &[&str], dir: &Path) -> Run {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    Run {
        code: out.status.code().unwrap_or(-1),
        elapsed,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// One case: the archive bytes and the exit code each command must give.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// `gait verify`
    verify: i32,
    /// `gait pack verify`
    pack: i32,
}

fn case(name: &'static str, bytes: Vec<u8>, verify: i32, pack: i32) -> Case {
    Case {
        name,
        bytes,
        verify,
        pack,
    }
}

/// Runs both commands on every case; returns the failures (and prints a
/// table of exit codes, times and error messages).
fn run_cases(cases: Vec<Case>) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for c in cases {
        let file = dir.path().join(format!("{}.zip", c.name));
        std::fs::write(&file, &c.bytes).unwrap();
        // For measuring outside the test (`/usr/bin/time -v`).
        if let Some(keep) = std::env::var_os("GAIT_HOSTILE_KEEP_DIR") {
            std::fs::write(Path::new(&keep).join(format!("{}.zip", c.name)), &c.bytes).unwrap();
        }
        let file = file.display().to_string();
        for (label, args, want) in [
            ("verify", vec!["verify", file.as_str(), "--json"], c.verify),
            (
                "pack verify",
                vec!["pack", "verify", file.as_str(), "--json"],
                c.pack,
            ),
        ] {
            let r = gait(&args, dir.path());
            let v: serde_json::Value =
                serde_json::from_str(r.stdout.trim()).unwrap_or(serde_json::Value::Null);
            let error = v["error"].as_str().unwrap_or("").to_owned();
            eprintln!(
                "{:<28} {:<12} exit {} in {:>7.1} ms  {}  {}",
                c.name,
                label,
                r.code,
                r.elapsed.as_secs_f64() * 1e3,
                c.bytes.len(),
                error.chars().take(110).collect::<String>()
            );
            let mut problems = Vec::new();
            if r.code != want {
                problems.push(format!("exit {} (want {want})", r.code));
            }
            if r.stderr.contains("panicked") {
                problems.push(format!("panicked: {}", r.stderr));
            }
            if r.elapsed > MAX_RUN {
                problems.push(format!("took {:?}", r.elapsed));
            }
            if want != 0 && v["ok"] != false {
                problems.push(format!("stdout is not an ok:false JSON: {:?}", r.stdout));
            }
            if !problems.is_empty() {
                failures.push(format!("{} / {label}: {}", c.name, problems.join("; ")));
            }
        }
    }
    failures
}

fn assert_all(cases: Vec<Case>) {
    let failures = run_cases(cases);
    assert!(failures.is_empty(), "{failures:#?}");
}

// ---------------------------------------------------------------------------
// The cases.

#[test]
fn control_archives_from_the_test_writer_verify() {
    // The writer's own re-encoding of the reference artifacts verifies, so
    // every rejection below is due to the one thing each case changes.
    let deflated: Vec<Ent> = entries_of("runpack_run_tck_signed.zip")
        .iter()
        .map(|(n, d)| Ent::deflated(n, d))
        .collect();
    assert_all(vec![
        case("control_runpack_stored", zip(&runpack_entries()), 0, 0),
        case("control_runpack_deflated", zip(&deflated), 0, 0),
        case("control_pack_stored", zip(&pack_entries()), 6, 0),
    ]);
}

#[test]
fn unsafe_names() {
    let rp = runpack_entries;
    let extra = |name: &[u8]| plus(rp(), Ent::stored("x", b"{}").named(name));
    assert_all(vec![
        case("name_traversal", zip(&extra(b"../evil")), 2, 2),
        case("name_traversal_inner", zip(&extra(b"a/../../evil")), 2, 2),
        case("name_absolute", zip(&extra(b"/abs")), 2, 2),
        case("name_backslash", zip(&extra(b"a\\b")), 2, 2),
        case("name_drive_letter", zip(&extra(b"C:evil")), 2, 2),
        case("name_nul", zip(&extra(b"a\0b")), 2, 2),
        case("name_not_utf8", zip(&extra(&[0xff, 0xfe, b'x'])), 2, 2),
        case("name_empty", zip(&extra(b"")), 2, 2),
        // A declared entry renamed to a traversal name.
        case(
            "name_declared_traversal",
            zip(&replace(rp(), "run.json", |e| e.named(b"../run.json"))),
            2,
            2,
        ),
    ]);
}

#[test]
fn duplicate_entries() {
    let rp = runpack_entries;
    let dup_intents = plus(rp(), Ent::stored("intents.jsonl", b"{\"forged\":true}\n"));
    let dup_trimmed = plus(rp(), Ent::stored("intents.jsonl ", b"x"));
    let dup_manifest = plus(rp(), Ent::stored("manifest.json", b"{}"));
    let dup_pack_manifest = plus(pack_entries(), Ent::stored("pack_manifest.json", b"{}"));
    assert_all(vec![
        case("duplicate_name", zip(&dup_intents), 2, 2),
        case("duplicate_name_trimmed", zip(&dup_trimmed), 2, 2),
        case("duplicate_manifest", zip(&dup_manifest), 2, 2),
        case("duplicate_pack_manifest", zip(&dup_pack_manifest), 2, 2),
    ]);
}

#[test]
fn too_many_entries() {
    let hundred_k = many(100_000);
    assert_all(vec![
        // 100,000 entries; the 16-bit count wraps (100,000 mod 65,536).
        case("entries_100k", zip(&hundred_k), 2, 2),
        // The same with a zip64 end record carrying the real count.
        case(
            "entries_100k_zip64",
            zip_bytes(
                &hundred_k,
                Eocd {
                    zip64: true,
                    ..Eocd::default()
                },
            ),
            2,
            2,
        ),
        // 100,000 entries in the directory, a count of 0xFFFF and no zip64
        // record.
        case(
            "entries_100k_count_ffff",
            zip_bytes(
                &hundred_k,
                Eocd {
                    count16: Some(0xFFFF),
                    ..Eocd::default()
                },
            ),
            2,
            2,
        ),
        case("entries_5000", zip(&many(5000)), 2, 2),
    ]);
}

#[test]
fn deflate_bombs() {
    let rp = runpack_entries;
    let t = Instant::now();
    let (bomb, _) = zero_bomb();
    eprintln!(
        "bomb: 1 GiB of zeros as a {}-byte deflate stream ({:.0}:1), built in {:?}",
        bomb.len(),
        GIB as f64 / bomb.len() as f64,
        t.elapsed()
    );
    assert_all(vec![
        // Honest headers: 1 GiB declared.
        case(
            "bomb_1gib_honest",
            zip(&replace(rp(), "intents.jsonl", |_| {
                bomb_entry("intents.jsonl", GIB)
            })),
            2,
            2,
        ),
        // Headers claiming 90 MiB (under the 100 MiB entry limit): the
        // ratio check catches it.
        case(
            "bomb_declares_90mib",
            zip(&replace(rp(), "intents.jsonl", |_| {
                bomb_entry("intents.jsonl", 90 << 20)
            })),
            2,
            2,
        ),
        // Headers lying: 1,000 bytes declared (below the ratio check),
        // 1 GiB inside. Only reading the entry finds out.
        case(
            "bomb_declares_1000b",
            zip(&replace(rp(), "intents.jsonl", |_| {
                bomb_entry("intents.jsonl", 1000)
            })),
            2,
            2,
        ),
        // The same inside a PackSpec pack (a declared entry).
        case(
            "bomb_in_pack_declares_1000b",
            zip(&replace(pack_entries(), "context_envelope.json", |_| {
                bomb_entry("context_envelope.json", 1000)
            })),
            6,
            2,
        ),
        // A stored entry whose headers claim more bytes than there are.
        case(
            "stored_size_lie",
            zip(&replace(rp(), "results.jsonl", |e| Ent {
                size: 50 << 20,
                csize: Some(50 << 20),
                ..e
            })),
            2,
            2,
        ),
        // Compressed size claims less than the data (the inflater runs
        // past it into the next header).
        case(
            "deflate_csize_short",
            zip(&replace(rp(), "results.jsonl", |e| {
                let d = Ent::deflated("results.jsonl", &e.data);
                Ent {
                    csize: Some(10),
                    ..d
                }
            })),
            2,
            2,
        ),
    ]);
}

#[test]
fn truncated_and_inconsistent_headers() {
    let rp = runpack_entries;
    let good = zip(&rp());
    let cd_start = {
        // The offset of the first central header.
        good.windows(4)
            .position(|w| w == [0x50, 0x4b, 0x01, 0x02])
            .unwrap()
    };
    let mut swapped_local = rp();
    swapped_local[1].local_name = Some(b"evil.json".to_vec());
    let mut flipped_crc = rp();
    flipped_crc[2].crc ^= 1;
    // Two central entries pointing at the same local header.
    let mut overlapping = rp();
    overlapping.push(Ent {
        offset: Some(0),
        central_only: true,
        ..rp()[0].clone().named(b"alias.json")
    });
    // A local header (with data) the central directory does not list,
    // before the listed ones.
    let hidden = {
        let lone = zip(&[Ent::stored("hidden.json", b"{}")]);
        let local_len = 30 + "hidden.json".len() + 2;
        let mut entries = rp();
        let mut off = local_len as u64;
        for e in &mut entries {
            e.offset = Some(off);
            off += 30 + e.name.len() as u64 + e.data.len() as u64;
        }
        let mut z = lone[..local_len].to_vec();
        z.extend_from_slice(&zip(&entries));
        // The end record's directory offset is relative to the body.
        let eocd_at = z.len() - 22;
        let cd = u32::from_le_bytes(z[eocd_at + 16..eocd_at + 20].try_into().unwrap());
        z[eocd_at + 16..eocd_at + 20].copy_from_slice(&(cd + local_len as u32).to_le_bytes());
        z
    };
    assert_all(vec![
        case("truncated_half", good[..good.len() / 2].to_vec(), 6, 6),
        case("truncated_in_eocd", good[..good.len() - 5].to_vec(), 6, 6),
        case(
            "truncated_in_central_dir",
            good[..cd_start + 20].to_vec(),
            6,
            6,
        ),
        case(
            "cd_offset_past_end",
            zip_bytes(
                &rp(),
                Eocd {
                    cd_offset: Some(0x7fff_0000),
                    ..Eocd::default()
                },
            ),
            6,
            6,
        ),
        case(
            "cd_size_huge",
            zip_bytes(
                &rp(),
                Eocd {
                    cd_size: Some(0xFFFF_FFF0),
                    ..Eocd::default()
                },
            ),
            2,
            2,
        ),
        case(
            "entry_offset_past_end",
            zip(&replace(rp(), "run.json", |e| Ent {
                offset: Some(0x7fff_0000),
                ..e
            })),
            2,
            2,
        ),
        case("local_name_differs", zip(&swapped_local), 2, 2),
        case("crc_mismatch", zip(&flipped_crc), 2, 2),
        case("overlapping_entries", zip(&overlapping), 2, 2),
        case("unlisted_local_header", hidden, 2, 2),
        case("not_a_zip", b"this is not a zip archive".to_vec(), 6, 6),
        case("empty_file", Vec::new(), 6, 6),
        case("empty_archive", zip(&[]), 6, 6),
    ]);
}

#[test]
fn unsupported_entries() {
    let rp = runpack_entries;
    // The WinZip AES extra field (vendor AE-2, AES-256, deflate).
    let aes_extra = {
        let mut x = Vec::new();
        u16le(&mut x, 0x9901);
        u16le(&mut x, 7);
        u16le(&mut x, 2);
        x.extend_from_slice(b"AE");
        x.push(3);
        u16le(&mut x, 8);
        x
    };
    let on_run = |f: &dyn Fn(Ent) -> Ent| zip(&replace(rp(), "run.json", f));
    assert_all(vec![
        case(
            "method_99_aes",
            on_run(&|e| Ent {
                method: 99,
                flags: 1,
                extra: aes_extra.clone(),
                ..e
            }),
            2,
            2,
        ),
        case(
            "method_99_no_extra",
            on_run(&|e| Ent { method: 99, ..e }),
            2,
            2,
        ),
        case(
            "method_12_bzip2",
            on_run(&|e| Ent { method: 12, ..e }),
            2,
            2,
        ),
        case("method_14_lzma", on_run(&|e| Ent { method: 14, ..e }), 2, 2),
        case("method_93_zstd", on_run(&|e| Ent { method: 93, ..e }), 2, 2),
        case("encrypted_flag", on_run(&|e| Ent { flags: 1, ..e }), 2, 2),
        case(
            "symlink",
            zip(&plus(
                rp(),
                Ent {
                    external: 0o120777 << 16,
                    ..Ent::stored("link", b"/etc/passwd")
                },
            )),
            2,
            2,
        ),
        case(
            "symlink_declared_entry",
            on_run(&|e| Ent {
                external: 0o120777 << 16,
                ..e
            }),
            2,
            2,
        ),
        case(
            "directory_entry",
            zip(&plus(rp(), Ent::stored("dir/", b""))),
            2,
            2,
        ),
        case(
            "directory_mode_no_slash",
            zip(&plus(
                rp(),
                Ent {
                    external: 0o040755 << 16,
                    ..Ent::stored("dir", b"")
                },
            )),
            2,
            2,
        ),
    ]);
}
