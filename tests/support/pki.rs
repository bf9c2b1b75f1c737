//! The test system's certificate authority and certificates: one CA per test process (minted
//! once), one certificate per identity, so tests run the same mutual TLS as production.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use nova_runtime::identity::Peer;
use nova_runtime::tls::mint::Authority;
use nova_runtime::tls::{TlsMaterial, Transport};

static AUTHORITY: LazyLock<Authority> = LazyLock::new(|| match Authority::new() {
    Ok(authority) => authority,
    Err(error) => panic!("cannot mint the test CA: {error}"),
});

static MATERIAL: LazyLock<Mutex<HashMap<Peer, Arc<TlsMaterial>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The CA every test certificate is signed by.
pub fn authority() -> &'static Authority {
    &AUTHORITY
}

/// The certificate and key of `peer`, signed by the test CA (minted once per process).
pub fn material(peer: &Peer) -> Arc<TlsMaterial> {
    let mut cache = MATERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = cache.get(peer) {
        return Arc::clone(found);
    }
    let material = match AUTHORITY.material(peer) {
        Ok(material) => Arc::new(material),
        Err(error) => panic!("cannot mint a certificate for {peer}: {error}"),
    };
    cache.insert(peer.clone(), Arc::clone(&material));
    material
}

/// Mutual TLS as the nova service `name`.
pub fn service(name: &str) -> Transport {
    Transport::Tls(material(&Peer::Service(name.to_string())))
}

/// Mutual TLS as the edge (what fronts end users): how tests call services.
pub fn edge() -> Transport {
    Transport::Tls(material(&Peer::Client("edge".to_string())))
}

/// Mutual TLS that trusts the test CA but presents a certificate for `peer` signed by another
/// CA: a client the servers must refuse, whatever identity it claims.
pub fn stranger(peer: &Peer) -> Transport {
    let minted = Authority::new().and_then(|other| other.issue(peer));
    let minted = match minted {
        Ok(minted) => minted,
        Err(error) => panic!("cannot mint a stranger certificate: {error}"),
    };
    match TlsMaterial::from_pem(AUTHORITY.cert_pem().as_bytes(), minted.cert_pem.as_bytes(), minted.key_pem.as_bytes()) {
        Ok(material) => Transport::Tls(Arc::new(material)),
        Err(error) => panic!("cannot read the stranger certificate: {error}"),
    }
}
