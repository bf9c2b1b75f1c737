//! Identities in certificates: a SPIFFE-style URI in the subject alternative names,
//! `spiffe://<trust domain>/svc/<service>` for a nova service and
//! `spiffe://<trust domain>/client/<name>` for anything else that may connect (the edge, a tool).

use x509_cert::Certificate;
use x509_cert::der::Decode as _;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use crate::identity::Peer;

/// The trust domain of every nova identity.
pub const TRUST_DOMAIN: &str = "nova.local";

/// The URI naming `peer`, e.g. `spiffe://nova.local/svc/auth`.
pub fn uri(peer: &Peer) -> String {
    format!("spiffe://{TRUST_DOMAIN}/{}", peer.path())
}

/// The peer a URI names; `None` for any other URI (another trust domain, another shape).
pub fn parse(uri: &str) -> Option<Peer> {
    let path = uri.strip_prefix("spiffe://")?.strip_prefix(TRUST_DOMAIN)?.strip_prefix('/')?;
    let (kind, name) = path.split_once('/')?;
    let valid = !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    match kind {
        "svc" if valid => Some(Peer::Service(name.to_string())),
        "client" if valid => Some(Peer::Client(name.to_string())),
        _ => None,
    }
}

/// The nova identity a (chain-verified) DER certificate carries: exactly one URI of this trust
/// domain among its subject alternative names, or `None`.
pub fn peer_of(der: &[u8]) -> Option<Peer> {
    let certificate = Certificate::from_der(der).ok()?;
    let (_, names) = certificate.tbs_certificate().get_extension::<SubjectAltName>().ok()??;
    let mut peers = names.0.iter().filter_map(|name| match name {
        GeneralName::UniformResourceIdentifier(uri) => parse(uri.as_str()),
        _ => None,
    });
    let peer = peers.next()?;
    // Two identities in one certificate would make "who is this" ambiguous: refuse it.
    peers.next().is_none().then_some(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_name_services_and_clients_of_this_trust_domain_only() {
        assert_eq!(parse("spiffe://nova.local/svc/auth"), Some(Peer::Service("auth".into())));
        assert_eq!(parse("spiffe://nova.local/client/edge"), Some(Peer::Client("edge".into())));
        assert_eq!(uri(&Peer::Service("feed".into())), "spiffe://nova.local/svc/feed");
        for refused in [
            "spiffe://other.local/svc/auth",
            "spiffe://nova.local/svc/",
            "spiffe://nova.local/svc/Auth",
            "spiffe://nova.local/admin/auth",
            "spiffe://nova.local/svc/auth/extra",
            "https://nova.local/svc/auth",
            "spiffe://nova.localhost/svc/auth",
        ] {
            assert_eq!(parse(refused), None, "{refused}");
        }
    }
}
