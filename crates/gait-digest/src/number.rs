//! ECMAScript `Number.prototype.toString` formatting of doubles.

use std::io::Write as _;

/// Appends the ECMAScript string form of `f` (RFC 8785 §3.2.2.3).
///
/// `-0` prints as `0`. Non-finite values cannot occur in a parsed JSON
/// value; should one reach here it prints as `null`, never as invalid JSON.
pub fn write_es_number(out: &mut Vec<u8>, f: f64) {
    if !f.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    if f == 0.0 {
        out.push(b'0');
        return;
    }
    // Small integers are by far the most common numbers in Gait documents.
    if f.fract() == 0.0 && f.abs() < 1e15 {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "|f| < 1e15 is exact in i64"
        )]
        let i = f as i64;
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{i}");
        return;
    }
    let mut buffer = ryu_js::Buffer::new();
    out.extend_from_slice(buffer.format_finite(f).as_bytes());
}

/// Returns the ECMAScript string form of `f` (see [`write_es_number`]).
pub fn es_number_string(f: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_es_number(&mut out, f);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::es_number_string as s;

    #[test]
    fn rfc8785_appendix_b_samples() {
        assert_eq!(s(0.0), "0");
        assert_eq!(s(-0.0), "0");
        assert_eq!(s(5e-324), "5e-324");
        assert_eq!(s(1.7976931348623157e308), "1.7976931348623157e+308");
        assert_eq!(s(9007199254740992.0), "9007199254740992");
        assert_eq!(s(295147905179352830000.0), "295147905179352830000");
        assert_eq!(s(1e21), "1e+21");
        assert_eq!(s(1e-7), "1e-7");
        assert_eq!(s(0.000001), "0.000001");
        assert_eq!(s(-1.5), "-1.5");
        assert_eq!(s(333333333.3333332), "333333333.3333332");
        assert_eq!(s(f64::NAN), "null");
    }
}
