//! Schema hashes: a fingerprint of a message and of every type it uses, transitively. Cache
//! keys carry the hash of their RPC's request and response, so a response cached before a
//! schema change is never decoded as the new message.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message as _;

use crate::load::protos::{ProtoSet, TypeDescriptor};

/// FNV-1a over each reachable type's name and encoded descriptor, in name order. Comments are
/// not part of descriptors, so documentation edits do not change it.
pub fn schema_hash(protos: &ProtoSet, roots: &[&str]) -> u64 {
    let mut reached: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    let mut pending: BTreeSet<&str> = roots.iter().copied().collect();
    while let Some(name) = pending.pop_first() {
        if reached.contains_key(name) {
            continue;
        }
        let Some((key, descriptor)) = protos.types.get_key_value(name) else { continue };
        let bytes = match descriptor {
            TypeDescriptor::Message(message) => {
                for field in &message.field {
                    if let Some(type_name) = field.type_name.as_deref()
                        && let Some((known, _)) = protos.types.get_key_value(type_name)
                    {
                        pending.insert(known.as_str());
                    }
                }
                message.encode_to_vec()
            }
            TypeDescriptor::Enum(enumeration) => enumeration.encode_to_vec(),
        };
        reached.insert(key.as_str(), bytes);
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, bytes) in reached {
        for byte in name.bytes().chain([0]).chain(bytes) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}
