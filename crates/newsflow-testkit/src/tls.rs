//! TLS for tests against tansu: a CA and broker certificate generated per test (rcgen),
//! and a TLS terminator in front of tansu (tansu 0.6.0 accepts `--cert`/`--key` but never
//! uses them: its TLS acceptor is built and dropped).

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rdkafka::config::ClientConfig;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

/// Writes ca.pem, cert.pem (for 127.0.0.1 and localhost, signed by the CA) and key.pem.
pub fn make_certs(dir: &Path) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "newsflow test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), leaf_key.serialize_pem()).unwrap();
}

/// A TLS terminator: accepts TLS on `listen` with the test certificate and forwards the
/// plaintext to 127.0.0.1:`backend`. One thread per connection.
pub fn start_tls_terminator(dir: &Path, listen: u16, backend: u16) {
    use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod};
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    b.set_private_key_file(dir.join("key.pem"), SslFiletype::PEM)
        .unwrap();
    b.set_certificate_chain_file(dir.join("cert.pem")).unwrap();
    let acceptor = std::sync::Arc::new(b.build());
    let listener = std::net::TcpListener::bind(("127.0.0.1", listen)).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let acceptor = acceptor.clone();
            std::thread::spawn(move || {
                let Ok(mut tls) = acceptor.accept(conn) else {
                    return; // e.g. a client that does not trust the CA
                };
                let Ok(mut plain) = TcpStream::connect(("127.0.0.1", backend)) else {
                    return;
                };
                let tick = Some(Duration::from_millis(2));
                tls.get_ref().set_read_timeout(tick).unwrap();
                plain.set_read_timeout(tick).unwrap();
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match tls.ssl_read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => {
                            if plain.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                        Err(e) if e.code() == openssl::ssl::ErrorCode::WANT_READ => {}
                        Err(_) => return,
                    }
                    match plain.read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => {
                            if tls.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => return,
                    }
                }
            });
        }
    });
}

/// A client configuration for `brokers` with extra properties.
pub fn client(brokers: &str, props: &[(String, String)]) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    for (k, v) in props {
        c.set(k, v);
    }
    c
}
