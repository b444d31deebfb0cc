//! HTTPS: the rustls configuration, from PEM files or from a self-signed certificate made at
//! start-up (rcgen), with the `ring` crypto provider.
//!
//! What HTTPS protects: the session id *in transit*. Over plain HTTP anyone on the path (the
//! café Wi-Fi, a proxy) reads the cookie and replays it; TLS encrypts the request, and the
//! `Secure` cookie flag keeps the browser from ever sending the id over plain HTTP. What it
//! does not protect: a cookie stolen at either end. Malware or an extension in the browser, a
//! copied cookie jar, a log line that prints the full id, or a script injected into the page
//! (which `HttpOnly` blocks, not TLS) all hand over an id that the server will honour until the
//! session is logged out or expires: whoever holds the id *is* the user. Short ttls and a
//! logout that really removes the session bound the damage; TLS cannot.
//!
//! A self-signed certificate encrypts but proves nothing about the server: a browser warns,
//! and `curl` needs `-k` or `--cacert` with the certificate (see `serve --save-cert`).

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;

/// A certificate chain and its private key.
pub struct Identity {
    /// The chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
    /// The leaf certificate in PEM, to hand to clients that should trust it.
    pub cert_pem: String,
}

/// Why TLS could not be set up.
pub type TlsError = Box<dyn std::error::Error + Send + Sync>;

/// The names a self-signed certificate is valid for: what a loopback client connects to.
pub const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The crypto provider: ring (aws-lc-rs, rustls' default, needs cmake and nasm to build).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A fresh self-signed certificate for [`LOCAL_NAMES`], with a new key pair.
pub fn self_signed() -> Result<Identity, TlsError> {
    let names: Vec<String> = LOCAL_NAMES.iter().map(|name| (*name).to_owned()).collect();
    let certified = rcgen::generate_simple_self_signed(names)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    Ok(Identity { cert_pem: certified.cert.pem(), chain: vec![certified.cert.der().clone()], key })
}

/// A certificate chain and key from PEM files.
pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Identity, TlsError> {
    let cert_pem = std::fs::read_to_string(cert)
        .map_err(|error| format!("cannot read {}: {error}", cert.display()))?;
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("{}: {error}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate in the file", cert.display()).into());
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|error| format!("{}: {error}", key.display()))?;
    Ok(Identity { chain, key, cert_pem })
}

/// The server configuration for `identity`: TLS 1.2 and 1.3, HTTP/1.1 only (the app speaks
/// nothing else).
pub fn server_config(identity: Identity) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client configuration that trusts exactly `cert` (for tests and the load command talking
/// to a server with a self-signed certificate).
pub fn client_config(
    cert: &CertificateDer<'static>,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone())?;
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_round_trips_through_pem_files() {
        let identity = self_signed().unwrap();
        assert!(identity.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let dir = std::env::temp_dir().join(format!("sessionlab-web-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, &identity.cert_pem).unwrap();
        let key_pem = match &identity.key {
            PrivateKeyDer::Pkcs8(der) => {
                rcgen::KeyPair::try_from(der.secret_pkcs8_der()).unwrap().serialize_pem()
            }
            _ => unreachable!("self_signed makes PKCS#8 keys"),
        };
        std::fs::write(&key, key_pem).unwrap();
        let loaded = from_pem_files(&cert, &key).unwrap();
        assert_eq!(loaded.chain, identity.chain);
        assert!(server_config(loaded).is_ok());
        assert!(from_pem_files(&key, &key).is_err(), "a key file has no certificate");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
