//! The DCAT-AP 3 graph of catalog entries, and a dataset's Data Package.

use gongshu_domain::{DatasetVersion, OpenAttribute, Organization, Resource, UpdateCycle};
use oxrdf::{BlankNode, Literal, NamedNode, NamedOrBlankNode, Term, Triple};
use serde_json::{Value, json};

/// Datasets per page of the catalog.
pub const PAGE_SIZE: usize = 100;

const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const FOAF: &str = "http://xmlns.com/foaf/0.1/";
const SKOS: &str = "http://www.w3.org/2004/02/skos/core#";
const VCARD: &str = "http://www.w3.org/2006/vcard/ns#";
const XSD: &str = "http://www.w3.org/2001/XMLSchema#";
const HYDRA: &str = "http://www.w3.org/ns/hydra/core#";
const EU_FILE_TYPE: &str = "http://publications.europa.eu/resource/authority/file-type/";
const EU_FREQUENCY: &str = "http://publications.europa.eu/resource/authority/frequency/";
const EU_ACCESS_RIGHT: &str = "http://publications.europa.eu/resource/authority/access-right/";
const EU_LANGUAGE: &str = "http://publications.europa.eu/resource/authority/language/";
const IANA_MEDIA_TYPE: &str = "https://www.iana.org/assignments/media-types/";
const DCATAP: &str = "http://data.europa.eu/r5r/";
const EU_AVAILABILITY: &str = "http://publications.europa.eu/resource/authority/planned-availability/";
const ADMS_PUBLISHER_TYPE: &str = "http://purl.org/adms/publishertype/";
const ADMS_LICENCE_TYPE: &str = "http://purl.org/adms/licencetype/";

/// Prefixes the serializations declare.
pub(crate) const PREFIXES: &[(&str, &str)] = &[
    ("dcat", DCAT),
    ("dct", DCT),
    ("foaf", FOAF),
    ("skos", SKOS),
    ("vcard", VCARD),
    ("xsd", XSD),
    ("hydra", HYDRA),
    ("dcatap", DCATAP),
];

/// Which page of the catalog this is.
pub(crate) struct Paging<'a> {
    pub(crate) page: usize,
    pub(crate) total: usize,
    pub(crate) extension: &'a str,
}

fn iri(text: &str) -> NamedNode {
    NamedNode::new(text).unwrap_or_else(|_| NamedNode::new_unchecked(url_safe(text)))
}

/// Percent-encodes what an IRI may not hold (spaces and the like).
fn url_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ":/?#[]@!$&'()*+,;=-._~%".contains(c) {
                c.to_string()
            } else {
                let mut buffer = [0u8; 4];
                c.encode_utf8(&mut buffer).bytes().map(|b| format!("%{b:02X}")).collect()
            }
        })
        .collect()
}

fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn vocab(namespace: &str, name: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{namespace}{name}"))
}

fn zh(text: &str) -> Literal {
    Literal::new_language_tagged_literal_unchecked(text, "zh")
}

fn en(text: &str) -> Literal {
    Literal::new_language_tagged_literal_unchecked(text, "en")
}

fn typed(value: impl Into<String>, datatype: &str) -> Literal {
    Literal::new_typed_literal(value, vocab(XSD, datatype))
}

fn date_time(at: chrono::DateTime<chrono::Utc>) -> Literal {
    typed(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "dateTime")
}

/// Triples under construction.
#[derive(Default)]
struct Graph {
    triples: Vec<Triple>,
}

impl Graph {
    fn add(&mut self, subject: impl Into<NamedOrBlankNode>, predicate: NamedNode, object: impl Into<Term>) {
        self.triples.push(Triple::new(subject, predicate, object));
    }

    fn typed_node(&mut self, node: NamedNode, class: NamedNode) -> NamedNode {
        self.add(node.clone(), iri(RDF_TYPE), class);
        node
    }

    /// A `skos:Concept` with the labels the shapes require.
    fn concept(&mut self, node: NamedNode, label_zh: &str, label_en: &str) -> NamedNode {
        self.typed_node(node.clone(), vocab(SKOS, "Concept"));
        self.add(node.clone(), vocab(SKOS, "prefLabel"), zh(label_zh));
        self.add(node.clone(), vocab(SKOS, "prefLabel"), en(label_en));
        node
    }

    /// A licence, with its ADMS type where it is a known one.
    fn license(&mut self, base: &str, license: &str) -> NamedNode {
        let node = self.typed_node(iri(&license_iri(base, license)), vocab(DCT, "LicenseDocument"));
        self.add(node.clone(), vocab(DCT, "identifier"), Literal::new_simple_literal(license));
        let kind = match license.to_ascii_uppercase().as_str() {
            "CC0-1.0" | "CC0" => Some(("PublicDomain", "公有领域", "Public domain")),
            "CC-BY-4.0" | "ODC-BY-1.0" | "CC-BY-SA-4.0" | "ODBL-1.0" => Some(("Attribution", "署名", "Attribution")),
            _ => None,
        };
        if let Some((kind, label_zh, label_en)) = kind {
            let kind = self.concept(vocab(ADMS_LICENCE_TYPE, kind), label_zh, label_en);
            self.add(node.clone(), vocab(DCT, "type"), kind);
        }
        node
    }

    /// A publisher: a `foaf:Agent` with its name.
    fn agent(&mut self, base: &str, org: &Organization) -> NamedNode {
        let node = iri(&format!("{base}/organizations/{}", org.id));
        self.typed_node(node.clone(), vocab(FOAF, "Agent"));
        self.add(node.clone(), vocab(FOAF, "name"), zh(&org.name_zh));
        if let Some(name) = org.name_en.as_deref().filter(|n| !n.is_empty()) {
            self.add(node.clone(), vocab(FOAF, "name"), en(name));
        }
        self.add(node.clone(), vocab(DCT, "identifier"), Literal::new_simple_literal(org.id.clone()));
        // Departments of a city or province are local or regional authorities.
        let (kind, label_zh, label_en) = if org.region.as_str().ends_with("0000") {
            ("RegionalAuthority", "省级政府部门", "Regional authority")
        } else {
            ("LocalAuthority", "地方政府部门", "Local authority")
        };
        let kind = self.concept(vocab(ADMS_PUBLISHER_TYPE, kind), label_zh, label_en);
        self.add(node.clone(), vocab(DCT, "type"), kind);
        node
    }
}

/// The EU frequency vocabulary's term for an update cycle.
fn frequency(cycle: UpdateCycle) -> &'static str {
    match cycle {
        UpdateCycle::Realtime => "UPDATE_CONT",
        UpdateCycle::Daily => "DAILY",
        UpdateCycle::Weekly => "WEEKLY",
        UpdateCycle::Monthly => "MONTHLY",
        UpdateCycle::Quarterly => "QUARTERLY",
        UpdateCycle::SemiAnnual => "ANNUAL_2",
        UpdateCycle::Annual => "ANNUAL",
        UpdateCycle::Irregular => "IRREG",
    }
}

/// A licence's IRI: Creative Commons licences by their deeds, others on this portal.
fn license_iri(base: &str, license: &str) -> String {
    match license.to_ascii_uppercase().as_str() {
        "CC0-1.0" | "CC0" => "http://creativecommons.org/publicdomain/zero/1.0/".into(),
        "CC-BY-4.0" => "http://creativecommons.org/licenses/by/4.0/".into(),
        "CC-BY-SA-4.0" => "http://creativecommons.org/licenses/by-sa/4.0/".into(),
        "ODC-BY-1.0" => "http://opendatacommons.org/licenses/by/1-0/".into(),
        "ODBL-1.0" => "http://opendatacommons.org/licenses/odbl/1-0/".into(),
        _ => format!("{base}/licenses/{}", segment(license)),
    }
}

/// The downloads a readable dataset offers: (EU file type, IANA media type, `format` parameter).
const DOWNLOADS: &[(&str, &str, &str)] = &[
    ("CSV", "text/csv", "csv"),
    ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ("JSON", "application/json", "json"),
    ("PARQUET", "application/vnd.apache.parquet", "parquet"),
];

/// The catalog with `entries` (each with its newest version), paged when `paging` says so.
pub(crate) fn catalog(
    base: &str,
    orgs: &[Organization],
    entries: &[(Resource, Option<DatasetVersion>)],
    paging: Option<&Paging<'_>>,
) -> Vec<Triple> {
    let mut g = Graph::default();
    let catalog = g.typed_node(iri(&format!("{base}/catalog")), vocab(DCAT, "Catalog"));
    g.add(catalog.clone(), vocab(DCT, "title"), zh("公共数据开放平台"));
    g.add(catalog.clone(), vocab(DCT, "title"), en("Open Public Data"));
    g.add(catalog.clone(), vocab(DCT, "description"), zh("依法开放的公共数据资源目录。"));
    g.add(catalog.clone(), vocab(DCT, "description"), en("The catalog of public data resources opened under the law."));
    let language = g.typed_node(vocab(EU_LANGUAGE, "ZHO"), vocab(DCT, "LinguisticSystem"));
    g.add(catalog.clone(), vocab(DCT, "language"), language);
    // The catalog's publisher: the data bureau when there is one, else the first organization.
    let bureau = orgs.iter().find(|o| o.kind.code() == "data_bureau").or_else(|| orgs.first());
    if let Some(bureau) = bureau {
        let publisher = g.agent(base, bureau);
        g.add(catalog.clone(), vocab(DCT, "publisher"), publisher);
        let region = g.typed_node(iri(&format!("{base}/regions/{}", bureau.region.as_str())), vocab(DCT, "Location"));
        g.add(region.clone(), vocab(DCT, "identifier"), Literal::new_simple_literal(bureau.region.as_str()));
        g.add(catalog.clone(), vocab(DCT, "spatial"), region);
    }
    let homepage = g.typed_node(iri(&format!("{base}/")), vocab(FOAF, "Document"));
    g.add(catalog.clone(), vocab(FOAF, "homepage"), homepage);
    // The catalog's own metadata is free to reuse.
    let metadata_license = g.license(base, "CC0-1.0");
    g.add(catalog.clone(), vocab(DCT, "license"), metadata_license);
    let themes = g.typed_node(iri(&format!("{base}/themes")), vocab(SKOS, "ConceptScheme"));
    g.add(themes.clone(), vocab(DCT, "title"), zh("主题"));
    g.add(catalog.clone(), vocab(DCAT, "themeTaxonomy"), themes);
    if let Some(issued) = entries.iter().filter_map(|(r, _)| r.published_at).min() {
        g.add(catalog.clone(), vocab(DCT, "issued"), date_time(issued));
    }
    if let Some(modified) = entries.iter().map(|(r, _)| r.updated_at).max() {
        g.add(catalog.clone(), vocab(DCT, "modified"), date_time(modified));
    }

    for (resource, newest) in entries {
        let dataset = dataset(&mut g, base, orgs, resource, newest.as_ref());
        g.add(catalog.clone(), vocab(DCAT, "dataset"), dataset);
    }

    if let Some(paging) = paging {
        let pages = paging.total.div_ceil(PAGE_SIZE).max(1);
        let page_iri = |n: usize| iri(&format!("{base}/catalog.{}?page={n}", paging.extension));
        let collection = g.typed_node(page_iri(paging.page), vocab(HYDRA, "PagedCollection"));
        g.add(collection.clone(), vocab(HYDRA, "totalItems"), typed(paging.total.to_string(), "integer"));
        g.add(collection.clone(), vocab(HYDRA, "itemsPerPage"), typed(PAGE_SIZE.to_string(), "integer"));
        g.add(collection.clone(), vocab(HYDRA, "firstPage"), page_iri(1));
        g.add(collection.clone(), vocab(HYDRA, "lastPage"), page_iri(pages));
        if paging.page > 1 {
            g.add(collection.clone(), vocab(HYDRA, "previousPage"), page_iri(paging.page - 1));
        }
        if paging.page < pages {
            g.add(collection, vocab(HYDRA, "nextPage"), page_iri(paging.page + 1));
        }
    }
    g.triples
}

fn dataset(
    g: &mut Graph,
    base: &str,
    orgs: &[Organization],
    resource: &Resource,
    newest: Option<&DatasetVersion>,
) -> NamedNode {
    let draft = &resource.draft;
    let page = format!("{base}/datasets/{}", resource.id);
    let dataset = g.typed_node(iri(&format!("{page}#dataset")), vocab(DCAT, "Dataset"));
    g.add(dataset.clone(), vocab(DCT, "title"), zh(&draft.name_zh));
    if let Some(name) = draft.name_en.as_deref().filter(|n| !n.is_empty()) {
        g.add(dataset.clone(), vocab(DCT, "title"), en(name));
    }
    g.add(dataset.clone(), vocab(DCT, "description"), zh(&draft.abstract_zh));
    if let Some(text) = draft.abstract_en.as_deref().filter(|n| !n.is_empty()) {
        g.add(dataset.clone(), vocab(DCT, "description"), en(text));
    }
    let identifier = resource.registration_code.as_ref().map_or(resource.id.as_str(), |c| c.as_str());
    g.add(dataset.clone(), vocab(DCT, "identifier"), Literal::new_simple_literal(identifier));
    let landing = g.typed_node(iri(&page), vocab(FOAF, "Document"));
    g.add(dataset.clone(), vocab(DCAT, "landingPage"), landing);
    for keyword in &draft.keywords {
        g.add(dataset.clone(), vocab(DCAT, "keyword"), zh(keyword));
    }
    let theme = g.typed_node(iri(&format!("{base}/themes/{}", segment(&draft.theme))), vocab(SKOS, "Concept"));
    g.add(theme.clone(), vocab(SKOS, "prefLabel"), zh(&draft.theme));
    g.add(theme.clone(), vocab(SKOS, "inScheme"), iri(&format!("{base}/themes")));
    g.add(dataset.clone(), vocab(DCAT, "theme"), theme);
    if let Some(provider) = orgs.iter().find(|o| o.id == resource.provider_org_id) {
        let publisher = g.agent(base, provider);
        g.add(dataset.clone(), vocab(DCT, "publisher"), publisher);
        let contact = BlankNode::default();
        g.add(contact.clone(), iri(RDF_TYPE), vocab(VCARD, "Kind"));
        g.add(contact.clone(), iri(RDF_TYPE), vocab(VCARD, "Organization"));
        g.add(contact.clone(), vocab(VCARD, "fn"), zh(&provider.name_zh));
        g.add(dataset.clone(), vocab(DCAT, "contactPoint"), contact);
        let region = draft.spatial_coverage.as_ref().unwrap_or(&provider.region);
        let location = g.typed_node(iri(&format!("{base}/regions/{}", region.as_str())), vocab(DCT, "Location"));
        g.add(location.clone(), vocab(DCT, "identifier"), Literal::new_simple_literal(region.as_str()));
        g.add(dataset.clone(), vocab(DCT, "spatial"), location);
    }
    if draft.time_coverage_start.is_some() || draft.time_coverage_end.is_some() {
        let period = BlankNode::default();
        g.add(period.clone(), iri(RDF_TYPE), vocab(DCT, "PeriodOfTime"));
        if let Some(start) = draft.time_coverage_start {
            g.add(period.clone(), vocab(DCAT, "startDate"), typed(start.to_string(), "date"));
        }
        if let Some(end) = draft.time_coverage_end {
            g.add(period.clone(), vocab(DCAT, "endDate"), typed(end.to_string(), "date"));
        }
        g.add(dataset.clone(), vocab(DCT, "temporal"), period);
    }
    let frequency = g.typed_node(vocab(EU_FREQUENCY, frequency(draft.update_cycle)), vocab(DCT, "Frequency"));
    g.add(dataset.clone(), vocab(DCT, "accrualPeriodicity"), frequency);
    let (access, readable) = match &draft.open {
        OpenAttribute::Unconditional => ("PUBLIC", true),
        OpenAttribute::Conditional { .. } => ("RESTRICTED", false),
        OpenAttribute::NotOpen { .. } => ("NON_PUBLIC", false),
    };
    let rights = g.typed_node(vocab(EU_ACCESS_RIGHT, access), vocab(DCT, "RightsStatement"));
    g.add(dataset.clone(), vocab(DCT, "accessRights"), rights);
    if let Some(published) = resource.published_at {
        g.add(dataset.clone(), vocab(DCT, "issued"), date_time(published));
    }
    g.add(dataset.clone(), vocab(DCT, "modified"), date_time(resource.updated_at));

    let license = draft.license.as_deref().map(|l| g.license(base, l));
    let distributions: Vec<(String, &str, &str, String)> = match (readable, newest) {
        (true, Some(_)) => DOWNLOADS
            .iter()
            .map(|(file_type, media_type, format)| {
                let url = format!("{base}/api/v1/resources/{}/download?format={format}", resource.id);
                (format!("{page}#{format}"), *file_type, *media_type, url)
            })
            .collect(),
        // Data that is not openly readable, or not loaded yet: the
        // dataset's page says how to get it.
        _ => vec![(format!("{page}#access"), "HTML", "text/html", page.clone())],
    };
    for (node, file_type, media_type, url) in distributions {
        let distribution = g.typed_node(iri(&node), vocab(DCAT, "Distribution"));
        g.add(distribution.clone(), vocab(DCT, "title"), zh(&format!("{}（{file_type}）", draft.name_zh)));
        let description = if url == page {
            "数据须经申请授权后使用，获取方式见数据资源页面。".to_owned()
        } else {
            format!("最新版本的全部数据，{file_type} 格式。")
        };
        g.add(distribution.clone(), vocab(DCT, "description"), zh(&description));
        let stable = g.concept(vocab(EU_AVAILABILITY, "STABLE"), "长期可用", "Stable");
        g.add(distribution.clone(), vocab(DCATAP, "availability"), stable);
        let access_url = iri(&url);
        g.add(distribution.clone(), vocab(DCAT, "accessURL"), access_url.clone());
        if url != page {
            g.add(distribution.clone(), vocab(DCAT, "downloadURL"), access_url);
        }
        let format = g.typed_node(vocab(EU_FILE_TYPE, file_type), vocab(DCT, "MediaTypeOrExtent"));
        g.add(distribution.clone(), vocab(DCT, "format"), format);
        let media = g.typed_node(vocab(IANA_MEDIA_TYPE, media_type), vocab(DCT, "MediaType"));
        g.add(distribution.clone(), vocab(DCAT, "mediaType"), media);
        if let Some(license) = &license {
            g.add(distribution.clone(), vocab(DCT, "license"), license.clone());
        }
        if let (Some(version), "PARQUET") = (newest, file_type) {
            g.add(
                distribution.clone(),
                vocab(DCAT, "byteSize"),
                typed(version.parquet_bytes.to_string(), "nonNegativeInteger"),
            );
        }
        if let Some(version) = newest {
            g.add(distribution.clone(), vocab(DCT, "modified"), date_time(version.created_at));
        }
        g.add(dataset.clone(), vocab(DCAT, "distribution"), distribution);
    }
    dataset
}

/// A dataset as a Frictionless Data Package: its newest version's table as
/// one CSV resource with the version's schema, and the catalog metadata.
pub(crate) fn data_package(
    base: &str,
    resource: &Resource,
    provider: &Organization,
    newest: Option<&DatasetVersion>,
) -> Value {
    let draft = &resource.draft;
    let mut package = json!({
        "profile": "data-package",
        "name": resource.id,
        "id": resource.registration_code.as_ref().map_or(resource.id.as_str(), |c| c.as_str()),
        "title": draft.name_zh,
        "description": draft.abstract_zh,
        "homepage": format!("{base}/datasets/{}", resource.id),
        "keywords": draft.keywords,
        "created": resource.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "contributors": [{ "title": provider.name_zh, "role": "publisher" }],
        "resources": [],
    });
    if let Some(license) = &draft.license {
        package["licenses"] = json!([{ "name": license, "path": license_iri(base, license) }]);
    }
    let readable = matches!(draft.open, OpenAttribute::Unconditional);
    if let (true, Some(version)) = (readable, newest) {
        let columns: Vec<Value> = serde_json::from_str::<Value>(&version.schema_json)
            .ok()
            .and_then(|v| v["columns"].as_array().cloned())
            .unwrap_or_default();
        let titles: std::collections::HashMap<&str, &str> =
            draft.items.iter().map(|i| (i.name.as_str(), i.title.as_str())).collect();
        let fields: Vec<Value> = columns
            .iter()
            .map(|column| {
                let name = column["name"].as_str().unwrap_or_default();
                let (field_type, format) = match column["type"].as_str().unwrap_or("text") {
                    "integer" => ("integer", None),
                    "decimal" | "float" => ("number", None),
                    "boolean" => ("boolean", None),
                    "date" => ("date", None),
                    // The CSV download writes `2024-01-02T08:30:00`.
                    "datetime" => ("datetime", Some("%Y-%m-%dT%H:%M:%S")),
                    _ => ("string", None),
                };
                let mut field = json!({ "name": name, "type": field_type });
                if let Some(title) = titles.get(name).filter(|t| **t != name) {
                    field["title"] = json!(title);
                }
                if let Some(format) = format {
                    field["format"] = json!(format);
                }
                if field_type == "boolean" {
                    field["trueValues"] = json!(["true"]);
                    field["falseValues"] = json!(["false"]);
                }
                field
            })
            .collect();
        package["resources"] = json!([{
            "name": "data",
            "path": format!("{base}/api/v1/resources/{}/download?format=csv&_version={}", resource.id, version.version),
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": { "fields": fields },
        }]);
    }
    package
}
