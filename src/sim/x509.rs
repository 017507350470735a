//! Just enough DER to take the RSA public key out of an X.509 certificate, so the sim can
//! check client assertions against a registered certificate.

/// One TLV: tag, content, and the rest of the input after it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len, rest) = rest.split_at_checked(n)?;
        let len = len.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, rest)
    };
    let (content, rest) = rest.split_at_checked(len)?;
    Some((tag, content, rest))
}

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;

/// The `RSAPublicKey` DER (SEQUENCE of modulus and exponent) inside a certificate's
/// subjectPublicKeyInfo, as ring's RSA verifiers take it.
pub(crate) fn rsa_public_key(cert_der: &[u8]) -> Option<Vec<u8>> {
    let (tag, cert, _) = tlv(cert_der)?;
    (tag == SEQUENCE).then_some(())?;
    let (tag, tbs, _) = tlv(cert)?;
    (tag == SEQUENCE).then_some(())?;
    let mut rest = tbs;
    // [0] version is optional (absent means v1).
    let (tag, _, after) = tlv(rest)?;
    if tag == 0xa0 {
        rest = after;
    }
    // serial, signature algorithm, issuer, validity, subject.
    for _ in 0..5 {
        let (_, _, after) = tlv(rest)?;
        rest = after;
    }
    let (tag, spki, _) = tlv(rest)?;
    (tag == SEQUENCE).then_some(())?;
    let (_, _algorithm, after) = tlv(spki)?;
    let (tag, bits, _) = tlv(after)?;
    (tag == BIT_STRING).then_some(())?;
    let (&unused, key) = bits.split_first()?;
    (unused == 0).then(|| key.to_vec())
}
