//! A local certificate authority and the certificates it signs, for `nova-gen dev` and the test
//! system, so that development and tests run the same mutual TLS as production (where
//! cert-manager issues them). Keys are ECDSA P-256.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use super::client::server_name_of;
use super::spiffe;
use super::{TlsError, TlsMaterial};
use crate::identity::Peer;

/// PEM texts of one certificate and its key.
#[derive(Debug, Clone)]
pub struct Minted {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM (PKCS#8).
    pub key_pem: String,
}

/// A certificate authority: signs service and client certificates.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authority")
    }
}

fn failed(what: &str, error: rcgen::Error) -> TlsError {
    TlsError::Invalid { what: what.to_string(), reason: error.to_string() }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "nova");
    name.push(DnType::CommonName, "nova local CA");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

impl Authority {
    /// A new CA with a fresh key.
    ///
    /// # Errors
    ///
    /// [`TlsError::Invalid`] when the key or the self-signed certificate cannot be generated.
    pub fn new() -> Result<Self, TlsError> {
        let key = KeyPair::generate().map_err(|e| failed("the CA key", e))?;
        let params = ca_params();
        let cert = params.self_signed(&key).map_err(|e| failed("the CA certificate", e))?;
        Ok(Authority { cert_pem: cert.pem(), issuer: Issuer::new(params, key) })
    }

    /// The CA this module made earlier, from its certificate and key (e.g. `.nova/pki`).
    ///
    /// # Errors
    ///
    /// [`TlsError::Invalid`] when the key does not parse.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, TlsError> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| failed("the CA key", e))?;
        Ok(Authority { cert_pem: cert_pem.to_string(), issuer: Issuer::new(ca_params(), key) })
    }

    /// The CA's certificate, PEM: the bundle every process trusts (`NOVA_TLS_CA`).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA's private key, PEM: to keep (e.g. in `.nova/pki`) for [`Authority::from_pem`].
    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// A certificate for `peer`: its SPIFFE-style URI and, for a service, the DNS name its
    /// clients verify (`nova-<service>`) plus `localhost`; usable to serve and to call.
    ///
    /// # Errors
    ///
    /// [`TlsError::Invalid`] when the key or the certificate cannot be generated.
    pub fn issue(&self, peer: &Peer) -> Result<Minted, TlsError> {
        let key = KeyPair::generate().map_err(|e| failed("a certificate key", e))?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::OrganizationName, "nova");
        name.push(DnType::CommonName, peer.path());
        params.distinguished_name = name;
        let uri = spiffe::uri(peer).try_into().map_err(|e| failed("a certificate URI", e))?;
        params.subject_alt_names.push(SanType::URI(uri));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        if let Peer::Service(service) = peer {
            for dns in [server_name_of(service), "localhost".to_string()] {
                params.subject_alt_names.push(SanType::DnsName(dns.try_into().map_err(|e| failed("a certificate DNS name", e))?));
            }
            params.extended_key_usages.push(ExtendedKeyUsagePurpose::ServerAuth);
        }
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| failed("a certificate", e))?;
        Ok(Minted { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }

    /// [`Authority::issue`] as material a process can use at once.
    ///
    /// # Errors
    ///
    /// As [`Authority::issue`] and [`TlsMaterial::from_pem`].
    pub fn material(&self, peer: &Peer) -> Result<TlsMaterial, TlsError> {
        let minted = self.issue(peer)?;
        TlsMaterial::from_pem(self.cert_pem.as_bytes(), minted.cert_pem.as_bytes(), minted.key_pem.as_bytes())
    }
}
