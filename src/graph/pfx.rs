//! PFX / PKCS#12 certificate files (what Windows, Azure Key Vault and `openssl pkcs12 -export`
//! write): the certificate and private key inside, for certificate sign-in.

use p12_keystore::{KeyStore, Pkcs12ImportPolicy};

use super::auth::{AssertionAlg, ClientCertificate};

/// The certificate that goes with the file's private key. `password` is empty for a file
/// exported without one. Errors are one line and never repeat the password.
pub fn client_certificate(
    bytes: &[u8],
    password: &str,
    alg: AssertionAlg,
) -> Result<ClientCertificate, String> {
    let store = KeyStore::from_pkcs12(bytes, password, Pkcs12ImportPolicy::Strict).map_err(
        |e| match e {
            // The MAC check fails first; without a MAC, decryption yields bad padding.
            p12_keystore::error::Error::MacError(_) | p12_keystore::error::Error::UnpadError => {
                "the PFX password is wrong (or the file is damaged)".to_string()
            }
            other => format!("not a readable PFX/PKCS#12 file: {other}"),
        },
    )?;
    let (_, chain) = store
        .private_key_chain()
        .ok_or("the PFX file holds no private key with its certificate")?;
    // The first certificate of a key's chain is the key's own (leaf) certificate.
    let cert = chain
        .certs()
        .first()
        .ok_or("the PFX file holds no certificate for its private key")?;
    ClientCertificate::from_der(cert.as_der(), chain.key().as_der(), alg)
}
