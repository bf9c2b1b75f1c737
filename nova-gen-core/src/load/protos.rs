//! Compiles `specs/proto` with protox (no `protoc`) and indexes what the generator needs:
//! services, methods, their `idempotency_level`, comments and source spans.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost_types::method_options::IdempotencyLevel;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto, MethodDescriptorProto, SourceCodeInfo};

use crate::diagnostic::Diagnostic;
use crate::ir::Idempotency;
use crate::source::{SourceFile, Span};

/// The compiled protos of the repository.
#[derive(Debug, Clone)]
pub struct ProtoSet {
    /// Descriptors of the files under the proto root (imports such as google/protobuf excluded), by name.
    pub files: BTreeMap<String, FileDescriptorProto>,
    /// Imported files (google/protobuf/...): prost-build needs them to know the types it refers to.
    pub imports: Vec<FileDescriptorProto>,
    /// Their text, by the same name, for located messages.
    pub sources: BTreeMap<String, SourceFile>,
    pub services: Vec<ProtoServiceInfo>,
    /// Every message and enum of the specs and their imports, by fully qualified name
    /// (`.nova.auth.v1.User`).
    pub types: BTreeMap<String, TypeDescriptor>,
}

#[derive(Debug, Clone)]
pub enum TypeDescriptor {
    Message(DescriptorProto),
    Enum(EnumDescriptorProto),
}

#[derive(Debug, Clone)]
pub struct ProtoServiceInfo {
    /// Proto file name relative to the proto root, e.g. `nova/auth/v1/auth.proto`.
    pub file: String,
    pub package: String,
    pub name: String,
    /// Where the service is named (`BillingService` in `service BillingService {`).
    pub span: Span,
    pub docs: Vec<String>,
    pub methods: Vec<ProtoMethodInfo>,
}

impl ProtoServiceInfo {
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.package, self.name)
    }
}

#[derive(Debug, Clone)]
pub struct ProtoMethodInfo {
    pub name: String,
    pub span: Span,
    /// Fully qualified, e.g. `.nova.auth.v1.GetUserRequest`.
    pub input_type: String,
    pub output_type: String,
    pub streaming: bool,
    pub idempotency: Idempotency,
    pub docs: Vec<String>,
}

impl ProtoSet {
    pub fn service(&self, full_name: &str) -> Option<&ProtoServiceInfo> {
        self.services.iter().find(|s| s.full_name() == full_name)
    }

    pub fn message(&self, full_name: &str) -> Option<&DescriptorProto> {
        match self.types.get(full_name) {
            Some(TypeDescriptor::Message(message)) => Some(message),
            _ => None,
        }
    }
}

/// Every package declared by the files under the proto root, sorted.
pub fn spec_packages(protos: &ProtoSet) -> Vec<String> {
    let mut packages: Vec<String> = protos.files.values().map(|f| f.package().to_string()).collect();
    packages.sort();
    packages.dedup();
    packages
}

/// The files of `packages` and every file they import, transitively (google/protobuf's
/// included), in a deterministic order.
pub fn files_with_imports<'a>(protos: &'a ProtoSet, packages: &[&str]) -> Vec<&'a FileDescriptorProto> {
    let by_name = |name: &str| protos.files.get(name).or_else(|| protos.imports.iter().find(|f| f.name() == name));
    let mut wanted: Vec<&FileDescriptorProto> = protos.files.values().filter(|f| packages.contains(&f.package())).collect();
    let mut index = 0;
    while index < wanted.len() {
        for dependency in &wanted[index].dependency {
            if let Some(file) = by_name(dependency)
                && !wanted.iter().any(|w| w.name() == file.name())
            {
                wanted.push(file);
            }
        }
        index += 1;
    }
    wanted.sort_by(|a, b| a.name().cmp(b.name()));
    wanted
}

/// The packages of specs/proto that the files of `package` import, transitively (the package
/// itself and google/protobuf's excluded), sorted.
pub fn imported_packages(protos: &ProtoSet, package: &str) -> Vec<String> {
    let mut wanted: Vec<&str> = protos.files.values().filter(|f| f.package() == package).map(|f| f.name()).collect();
    let mut index = 0;
    while index < wanted.len() {
        if let Some(file) = protos.files.get(wanted[index]) {
            for dependency in &file.dependency {
                if protos.files.contains_key(dependency) && !wanted.contains(&dependency.as_str()) {
                    wanted.push(dependency);
                }
            }
        }
        index += 1;
    }
    let mut packages: Vec<String> =
        wanted.iter().filter_map(|name| protos.files.get(*name)).map(|f| f.package().to_string()).filter(|p| p != package).collect();
    packages.sort();
    packages.dedup();
    packages
}

/// Indexes every message and enum, nested ones included, under its fully qualified name.
fn index_types<'a>(files: impl Iterator<Item = &'a FileDescriptorProto>) -> BTreeMap<String, TypeDescriptor> {
    fn add_message(prefix: &str, message: &DescriptorProto, types: &mut BTreeMap<String, TypeDescriptor>) {
        let name = format!("{prefix}.{}", message.name());
        for nested in &message.nested_type {
            add_message(&name, nested, types);
        }
        for nested in &message.enum_type {
            types.insert(format!("{name}.{}", nested.name()), TypeDescriptor::Enum(nested.clone()));
        }
        types.insert(name, TypeDescriptor::Message(message.clone()));
    }
    let mut types = BTreeMap::new();
    for file in files {
        let prefix = if file.package().is_empty() { String::new() } else { format!(".{}", file.package()) };
        for message in &file.message_type {
            add_message(&prefix, message, &mut types);
        }
        for enumeration in &file.enum_type {
            types.insert(format!("{prefix}.{}", enumeration.name()), TypeDescriptor::Enum(enumeration.clone()));
        }
    }
    types
}

/// Compiles every `.proto` under `proto_root`; `display_root` is the name the root has in
/// messages (e.g. `specs/proto`), so locations are repository-relative.
pub fn load_protos(proto_root: &Path, display_root: &str) -> Result<ProtoSet, Vec<Diagnostic>> {
    let relative = list_protos(proto_root).map_err(|e| vec![io_error(display_root, &e)])?;
    let mut sources = BTreeMap::new();
    for name in &relative {
        let text = std::fs::read_to_string(proto_root.join(name)).map_err(|e| vec![io_error(name, &e)])?;
        sources.insert(name.clone(), SourceFile::new(format!("{display_root}/{name}"), text));
    }
    if relative.is_empty() {
        let message = format!("no .proto files under {display_root}");
        return Err(vec![Diagnostic::new("spec::no-protos", message).help("add specs/proto/nova/<service>/v1/<service>.proto for each service")]);
    }
    let mut compiler = protox::Compiler::new([proto_root]).map_err(|e| vec![proto_error(&sources, &e)])?;
    compiler.include_source_info(true).include_imports(true);
    // Open one file at a time so a broken file does not hide the others' errors.
    let mut diagnostics = Vec::new();
    for name in &relative {
        if let Err(error) = compiler.open_file(name) {
            diagnostics.push(proto_error(&sources, &error));
        }
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let (own, imports): (Vec<FileDescriptorProto>, Vec<FileDescriptorProto>) =
        compiler.file_descriptor_set().file.into_iter().partition(|f| sources.contains_key(f.name()));
    let files: BTreeMap<String, FileDescriptorProto> = own.into_iter().map(|f| (f.name().to_string(), f)).collect();
    let services = files.values().flat_map(|f| index_services(f, &sources)).collect();
    let types = index_types(files.values().chain(imports.iter()));
    Ok(ProtoSet { files, imports, sources, services, types })
}

fn list_protos(root: &Path) -> std::io::Result<Vec<String>> {
    let mut found = Vec::new();
    let mut pending: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "proto")
                && let Ok(rel) = path.strip_prefix(root)
            {
                found.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    found.sort();
    Ok(found)
}

fn io_error(name: &str, error: &std::io::Error) -> Diagnostic {
    // `load` adds a help naming the flag that gave the path, if one did.
    Diagnostic::new("spec::io", format!("cannot read {name}: {error}"))
}

/// protox reports rich miette diagnostics; keep their labels and help, but name the file the
/// way the rest of the report does.
fn proto_error(sources: &BTreeMap<String, SourceFile>, error: &protox::Error) -> Diagnostic {
    use miette::Diagnostic as _;
    let mut diagnostic = Diagnostic::new("spec::proto", error.to_string());
    if let Some(file) = error.file().and_then(|f| sources.get(f)) {
        diagnostic = diagnostic.in_file(file);
        for label in error.labels().into_iter().flatten() {
            let span = label.offset()..label.offset() + label.len();
            diagnostic = diagnostic.label(span, label.label().unwrap_or("here").to_string());
        }
    }
    let help =
        error.help().map_or_else(|| "fix the .proto file; nova-gen compiles protos with protox, like protoc would".to_string(), |h| h.to_string());
    diagnostic.help(help)
}

fn index_services(file: &FileDescriptorProto, sources: &BTreeMap<String, SourceFile>) -> Vec<ProtoServiceInfo> {
    let source = sources.get(file.name());
    let info = file.source_code_info.as_ref();
    file.service
        .iter()
        .enumerate()
        .map(|(si, service)| {
            let service_path = [6, si as i32];
            let methods =
                service.method.iter().enumerate().map(|(mi, method)| index_method(method, info, source, &[6, si as i32, 2, mi as i32])).collect();
            ProtoServiceInfo {
                file: file.name().to_string(),
                package: file.package().to_string(),
                name: service.name().to_string(),
                // The name only: a diagnostic about the service shows its `service X {` line,
                // not the whole block with every RPC.
                span: match location(info, &[6, si as i32, 1]) {
                    Some(_) => span_of(info, source, &[6, si as i32, 1]),
                    None => span_of(info, source, &service_path),
                },
                docs: docs_of(info, &service_path),
                methods,
            }
        })
        .collect()
}

fn index_method(method: &MethodDescriptorProto, info: Option<&SourceCodeInfo>, source: Option<&SourceFile>, path: &[i32]) -> ProtoMethodInfo {
    let level = method.options.as_ref().map(|o| o.idempotency_level());
    let idempotency = match level {
        Some(IdempotencyLevel::NoSideEffects) => Idempotency::NoSideEffects,
        Some(IdempotencyLevel::Idempotent) => Idempotency::Idempotent,
        _ => Idempotency::Unknown,
    };
    ProtoMethodInfo {
        name: method.name().to_string(),
        span: span_of(info, source, path),
        input_type: method.input_type().to_string(),
        output_type: method.output_type().to_string(),
        streaming: method.client_streaming() || method.server_streaming(),
        idempotency,
        docs: docs_of(info, path),
    }
}

fn location<'a>(info: Option<&'a SourceCodeInfo>, path: &[i32]) -> Option<&'a prost_types::source_code_info::Location> {
    info?.location.iter().find(|l| l.path == path)
}

/// Byte span of a descriptor element; protobuf gives `[line, col, end_line, end_col]` or
/// `[line, col, end_col]`, 0-based.
fn span_of(info: Option<&SourceCodeInfo>, source: Option<&SourceFile>, path: &[i32]) -> Span {
    let (Some(loc), Some(source)) = (location(info, path), source) else { return 0..0 };
    let at = |i: usize| loc.span.get(i).map_or(0, |v| usize::try_from(*v).unwrap_or(0));
    let (line, col) = (at(0), at(1));
    let (end_line, end_col) = if loc.span.len() == 4 { (at(2), at(3)) } else { (line, at(2)) };
    source.offset_of(line, col)..source.offset_of(end_line, end_col)
}

/// Leading comment lines, with the single space after `//` removed.
fn docs_of(info: Option<&SourceCodeInfo>, path: &[i32]) -> Vec<String> {
    let Some(comment) = location(info, path).and_then(|l| l.leading_comments.as_deref()) else { return Vec::new() };
    let lines: Vec<String> = comment.lines().map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_string()).collect();
    let end = lines.iter().rposition(|l| !l.is_empty()).map_or(0, |i| i + 1);
    lines[..end].to_vec()
}
