//! HTTPS with rustls: the certificate chain and key come from PEM files and are
//! reloaded on SIGHUP. A reload swaps what new handshakes get; established connections
//! keep theirs and are not dropped. A reload that fails (missing file, a key that does
//! not match the certificate) keeps the previous certificate and says why.

use std::sync::{Arc, RwLock};

use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// The certificate handed to each new handshake.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.read().ok().map(|k| k.clone())
    }
}

/// The HTTPS side of the listener.
#[derive(Clone)]
pub struct Tls {
    files: TlsFiles,
    current: Arc<Current>,
    acceptor: TlsAcceptor,
}

fn load(files: &TlsFiles) -> anyhow::Result<CertifiedKey> {
    let cert = files.cert.display();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| anyhow::anyhow!("{cert}: {e}"))?;
    if chain.is_empty() {
        return Err(anyhow::anyhow!("{cert}: no certificate"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| anyhow::anyhow!("{}: {e}", files.key.display()))?;
    let signer = ring::sign::any_supported_type(&key).map_err(|e| anyhow::anyhow!("{}: {e}", files.key.display()))?;
    let ck = CertifiedKey::new(chain, signer);
    ck.keys_match().map_err(|e| anyhow::anyhow!("{} and {}: {e}", files.cert.display(), files.key.display()))?;
    Ok(ck)
}

impl Tls {
    pub fn new(files: &TlsFiles) -> anyhow::Result<Tls> {
        let current = Arc::new(Current(RwLock::new(Arc::new(load(files)?))));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls { files: files.clone(), current, acceptor: TlsAcceptor::from(Arc::new(config)) })
    }

    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Reads the files again; on success new handshakes get the new certificate.
    pub fn reload(&self) -> anyhow::Result<()> {
        let ck = load(&self.files)?;
        let mut g = self.current.0.write().map_err(|_| anyhow::anyhow!("certificate lock poisoned"))?;
        *g = Arc::new(ck);
        Ok(())
    }
}
