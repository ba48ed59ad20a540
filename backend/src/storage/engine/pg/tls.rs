//! rustls for the PostgreSQL connections: the verifier each sslmode asks for.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

use super::{SslMode, R};
use crate::storage::StoreError;

pub(super) fn connector(mode: SslMode, root: Option<&Path>) -> R<tokio_postgres_rustls::MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError(format!("TLS: {e}")))?;
    // libpq: prefer/require check the certificate only when a root file is given
    // (then as verify-ca).
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, root) {
        (SslMode::Prefer | SslMode::Require, None) => Arc::new(AnyCertificate(provider)),
        (SslMode::VerifyFull, root) => webpki(roots(root)?, &provider)?,
        (_, root) => Arc::new(ChainOnly(webpki(roots(root)?, &provider)?)),
    };
    let config = builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

fn webpki(roots: RootCertStore, provider: &Arc<CryptoProvider>) -> R<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| StoreError(format!("TLS: {e}")))
}

/// The CAs of `sslrootcert`, or the system's.
fn roots(file: Option<&Path>) -> R<RootCertStore> {
    let mut store = RootCertStore::empty();
    match file {
        Some(f) => {
            let certs = CertificateDer::pem_file_iter(f)
                .map_err(|e| StoreError(format!("sslrootcert {}: {e}", f.display())))?;
            for c in certs {
                let c = c.map_err(|e| StoreError(format!("sslrootcert {}: {e}", f.display())))?;
                store.add(c).map_err(|e| StoreError(format!("sslrootcert {}: {e}", f.display())))?;
            }
            if store.is_empty() {
                return Err(StoreError(format!("sslrootcert {}: no certificate in it", f.display())));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                // A system certificate rustls cannot use is skipped, as libpq would.
                let _ = store.add(c);
            }
            if store.is_empty() {
                return Err(StoreError("no system CA certificates found: give sslrootcert=FILE".into()));
            }
        }
    }
    Ok(store)
}

/// `require` without roots: encrypted, the certificate not checked (libpq's meaning;
/// the handshake's signatures still are).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain to a trusted CA, not the host name (webpki checks the chain
/// first, so a name mismatch means the chain was good).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
