//! Synthetic specs of any size, shaped like nova's: per service one proto with reads and
//! writes, a policy section and five tables with in-service and cross-service references.

use std::fmt::Write as _;
use std::path::Path;

const RPCS: [(&str, bool); 10] = [
    ("GetItem", true),
    ("GetItemsByIds", true),
    ("ListItems", true),
    ("CountItems", true),
    ("SearchItems", true),
    ("CreateItem", false),
    ("UpdateItem", false),
    ("DeleteItem", false),
    ("ArchiveItem", false),
    ("RestoreItem", false),
];

pub fn write_spec(root: &Path, services: usize) {
    let mut ownership = String::from("[defaults]\ndeadline = \"1s\"\n");
    for i in 0..services {
        let name = format!("svc{i:03}");
        write_proto(root, &name);
        let _ = writeln!(ownership, "\n[{name}]");
        let _ = writeln!(ownership, "rpc.GetItem = {{ cache = \"1m\", deadline = \"200ms\" }}");
        let _ = writeln!(ownership, "rpc.ListItems = {{ cache = \"10s\" }}");
        let _ = writeln!(ownership, "rpc.CreateItem = {{ retry = false }}");
        for t in 0..5 {
            let _ = writeln!(ownership, "\n[{name}.tables.{name}_t{t}]");
            let _ = writeln!(ownership, "columns.id = \"uuid pk default gen_random_uuid()\"");
            let _ = writeln!(ownership, "columns.name = \"text unique\"");
            if t > 0 {
                let _ = writeln!(ownership, "columns.parent_id = \"uuid -> {name}_t{}.id cascade\"", t - 1);
            }
            if i > 0 {
                let _ = writeln!(ownership, "columns.owner_id = \"uuid -> svc{:03}.svc{:03}_t0.id\"", i - 1, i - 1);
            }
            let _ = writeln!(ownership, "columns.score = \"double default 0\"");
            let _ = writeln!(ownership, "columns.tags = \"text[] default '{{}}'\"");
            let _ = writeln!(ownership, "columns.created_at = \"timestamptz default now()\"");
            let _ = writeln!(ownership, "columns.deleted_at = \"timestamptz?\"");
            let _ = writeln!(ownership, "columns.version = \"bigint version\"");
            let _ = writeln!(ownership, "indexes = [\"name, created_at desc\"]");
        }
    }
    std::fs::create_dir_all(root.join("specs")).expect("mkdir");
    std::fs::write(root.join("specs/ownership.toml"), ownership).expect("write ownership.toml");
}

fn write_proto(root: &Path, name: &str) {
    let pascal = format!("Svc{}", &name[3..]);
    let mut proto =
        format!("syntax = \"proto3\";\npackage nova.{name}.v1;\nimport \"google/protobuf/timestamp.proto\";\n\nservice {pascal}Service {{\n");
    for (rpc, read) in RPCS {
        let _ = writeln!(proto, "  // {rpc} of {name}.\n  rpc {rpc}({rpc}Request) returns ({rpc}Response) {{");
        if read {
            let _ = writeln!(proto, "    option idempotency_level = NO_SIDE_EFFECTS;");
        }
        let _ = writeln!(proto, "  }}");
    }
    proto.push_str("}\n\nmessage Item {\n  string id = 1;\n  string name = 2;\n  google.protobuf.Timestamp created_at = 3;\n}\n");
    for (rpc, _) in RPCS {
        let _ = writeln!(proto, "\nmessage {rpc}Request {{\n  repeated string ids = 1;\n  int32 page_size = 2;\n  string page_token = 3;\n}}");
        let _ = writeln!(proto, "\nmessage {rpc}Response {{\n  repeated Item items = 1;\n  string next_page_token = 2;\n}}");
    }
    let dir = root.join(format!("specs/proto/nova/{name}/v1"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join(format!("{name}.proto")), proto).expect("write proto");
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}
