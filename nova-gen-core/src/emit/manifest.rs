//! Cargo manifests of generated and scaffolded crates, built as TOML documents (never by
//! string formatting), with versions inherited from the workspace.

use toml_edit::{DocumentMut, Item, Table, value};

/// Where a dependency comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// `name.workspace = true`: the version lives in the root Cargo.toml.
    Workspace,
    /// `name = { path = "..." }`
    Path(String),
}

#[derive(Debug, Clone)]
pub struct Dependency {
    pub name: String,
    pub source: Source,
}

impl Dependency {
    pub fn workspace(name: &str) -> Self {
        Dependency { name: name.to_string(), source: Source::Workspace }
    }

    pub fn path(name: &str, path: &str) -> Self {
        Dependency { name: name.to_string(), source: Source::Path(path.to_string()) }
    }
}

#[derive(Debug, Clone)]
pub struct Manifest {
    pub package: String,
    pub description: String,
    /// `(name, path)` of binaries, if any.
    pub bins: Vec<(String, String)>,
    pub dependencies: Vec<Dependency>,
    pub dev_dependencies: Vec<Dependency>,
    /// `(name, enabled features)` of the `[features]` table, if any.
    pub features: Vec<(String, Vec<String>)>,
}

impl Manifest {
    pub fn to_toml(&self) -> String {
        let mut doc = DocumentMut::new();
        let mut package = Table::new();
        package["name"] = value(&self.package);
        package["version"] = value("0.1.0");
        package["description"] = value(&self.description);
        for key in ["edition", "rust-version", "license", "publish"] {
            package[key] = Item::Table(inherited());
        }
        doc["package"] = Item::Table(package);
        if !self.bins.is_empty() {
            let mut bins = toml_edit::ArrayOfTables::new();
            for (name, path) in &self.bins {
                let mut bin = Table::new();
                bin["name"] = value(name);
                bin["path"] = value(path);
                bins.push(bin);
            }
            doc["bin"] = Item::ArrayOfTables(bins);
        }
        doc["dependencies"] = Item::Table(dependencies(&self.dependencies));
        if !self.dev_dependencies.is_empty() {
            doc["dev-dependencies"] = Item::Table(dependencies(&self.dev_dependencies));
        }
        if !self.features.is_empty() {
            let mut features = Table::new();
            for (name, enables) in &self.features {
                features[name] = value(enables.iter().map(String::as_str).collect::<toml_edit::Array>());
            }
            doc["features"] = Item::Table(features);
        }
        let mut lints = Table::new();
        lints["workspace"] = value(true);
        doc["lints"] = Item::Table(lints);
        doc.to_string()
    }
}

/// `workspace = true` as a dotted key: `edition.workspace = true`.
fn inherited() -> Table {
    let mut table = Table::new();
    table.set_dotted(true);
    table["workspace"] = value(true);
    table
}

fn dependencies(list: &[Dependency]) -> Table {
    let mut table = Table::new();
    let mut sorted: Vec<&Dependency> = list.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for dependency in sorted {
        table[&dependency.name] = match &dependency.source {
            Source::Workspace => Item::Table(inherited()),
            Source::Path(path) => {
                let mut inline = toml_edit::InlineTable::new();
                inline.insert("path", path.as_str().into());
                value(inline)
            }
        };
    }
    table
}
