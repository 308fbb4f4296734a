//! DCAT documents: every `dcat:Dataset` in a graph, with its
//! distributions, and the next page when the document is a Hydra page.

use std::collections::HashMap;

use oxrdf::{Literal, Term};
use oxrdfio::{RdfFormat, RdfParser};

use crate::{HarvestError, RemoteDataset, RemoteDistribution, web_url};

const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const FOAF_NAME: &str = "http://xmlns.com/foaf/0.1/name";
const SKOS_PREF_LABEL: &str = "http://www.w3.org/2004/02/skos/core#prefLabel";
const RDFS_LABEL: &str = "http://www.w3.org/2000/01/rdf-schema#label";
const VCARD_FN: &str = "http://www.w3.org/2006/vcard/ns#fn";
const RDF_VALUE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#value";
const HYDRA: &str = "http://www.w3.org/ns/hydra/core#";

/// An RDF syntax a DCAT document may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdfSyntax {
    /// Turtle.
    Turtle,
    /// RDF/XML.
    RdfXml,
    /// JSON-LD (with its context inline).
    JsonLd,
}

impl RdfSyntax {
    /// The syntax by the response's content type, else by the URL's extension; Turtle when neither says.
    pub fn detect(content_type: Option<&str>, url: &str) -> RdfSyntax {
        let content_type = content_type.unwrap_or("").to_ascii_lowercase();
        if content_type.contains("rdf+xml") {
            return RdfSyntax::RdfXml;
        }
        if content_type.contains("ld+json") {
            return RdfSyntax::JsonLd;
        }
        if content_type.contains("turtle") {
            return RdfSyntax::Turtle;
        }
        let path = url.split(['?', '#']).next().unwrap_or(url).to_ascii_lowercase();
        if path.ends_with(".rdf") || path.ends_with(".xml") || path.ends_with(".owl") {
            RdfSyntax::RdfXml
        } else if path.ends_with(".jsonld") || path.ends_with(".json") {
            RdfSyntax::JsonLd
        } else {
            RdfSyntax::Turtle
        }
    }

    fn format(self) -> RdfFormat {
        match self {
            RdfSyntax::Turtle => RdfFormat::Turtle,
            RdfSyntax::RdfXml => RdfFormat::RdfXml,
            RdfSyntax::JsonLd => RdfFormat::JsonLd { profile: oxrdfio::JsonLdProfileSet::empty() },
        }
    }

    fn name(self) -> &'static str {
        match self {
            RdfSyntax::Turtle => "Turtle",
            RdfSyntax::RdfXml => "RDF/XML",
            RdfSyntax::JsonLd => "JSON-LD",
        }
    }
}

/// The datasets of one DCAT document, and the page after it.
#[derive(Debug, Clone, Default)]
pub struct DcatPage {
    /// Every `dcat:Dataset` described, in document order.
    pub datasets: Vec<RemoteDataset>,
    /// `hydra:next` (or `hydra:nextPage`), when the document is a page.
    pub next_page: Option<String>,
}

/// Node → its (predicate, object) pairs, in document order.
struct Graph {
    edges: HashMap<String, Vec<(String, Term)>>,
    order: Vec<String>,
}

fn key(term: &Term) -> Option<String> {
    if let Term::NamedNode(node) = term {
        return Some(node.to_string());
    }
    if let Term::BlankNode(node) = term {
        return Some(node.to_string());
    }
    None
}

impl Graph {
    fn objects<'a>(&'a self, node: &str, predicate: &'a str) -> impl Iterator<Item = &'a Term> + 'a {
        self.edges.get(node).into_iter().flatten().filter(move |(p, _)| p == predicate).map(|(_, o)| o)
    }

    fn literals<'a>(&'a self, node: &str, predicate: &'a str) -> Vec<&'a Literal> {
        self.objects(node, predicate).filter_map(|o| if let Term::Literal(l) = o { Some(l) } else { None }).collect()
    }

    /// A literal in the preferred language: Chinese, then no tag, then
    /// English, then any; `english` asks for the English one only.
    fn text(&self, node: &str, predicate: &str, english: bool) -> Option<String> {
        let literals = self.literals(node, predicate);
        let lang = |l: &&Literal| l.language().map(|t| t.to_ascii_lowercase());
        let found = if english {
            literals.iter().find(|l| lang(l).is_some_and(|t| t == "en" || t.starts_with("en-")))
        } else {
            literals
                .iter()
                .find(|l| lang(l).is_some_and(|t| t == "zh" || t.starts_with("zh-")))
                .or_else(|| literals.iter().find(|l| l.language().is_none()))
                .or_else(|| literals.iter().find(|l| lang(l).is_some_and(|t| t == "en" || t.starts_with("en-"))))
                .or_else(|| literals.first())
        };
        found.map(|l| l.value().trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn iri(&self, node: &str, predicate: &str) -> Option<String> {
        self.objects(node, predicate)
            .find_map(|o| if let Term::NamedNode(n) = o { Some(n.as_str().to_owned()) } else { None })
    }

    /// A value that may be a literal, an IRI, or a node with a label; an
    /// IRI without a label is kept whole (a licence's address says which).
    fn label_or_iri(&self, node: &str, predicate: &str) -> Option<String> {
        self.objects(node, predicate).find_map(|object| match object {
            Term::NamedNode(n) => Some(
                [SKOS_PREF_LABEL, RDFS_LABEL, FOAF_NAME]
                    .iter()
                    .find_map(|p| self.text(&n.to_string(), p, false))
                    .unwrap_or_else(|| n.as_str().to_owned()),
            ),
            _ => self.label_of(object),
        })
    }

    fn label_of(&self, object: &Term) -> Option<String> {
        match object {
            Term::Literal(l) => Some(l.value().trim().to_owned()).filter(|v| !v.is_empty()),
            other => {
                let inner = key(other)?;
                [FOAF_NAME, SKOS_PREF_LABEL, RDFS_LABEL, VCARD_FN, RDF_VALUE]
                    .iter()
                    .find_map(|p| self.text(&inner, p, false))
                    .or_else(|| if let Term::NamedNode(n) = other { Some(last_segment(n.as_str())) } else { None })
            }
        }
    }

    /// A value that may be a literal, an IRI (its last segment), or a node with a label.
    fn label(&self, node: &str, predicate: &str) -> Option<String> {
        self.objects(node, predicate).find_map(|object| self.label_of(object))
    }

    fn is_a(&self, node: &str, class: &str) -> bool {
        self.objects(node, RDF_TYPE).any(|o| matches!(o, Term::NamedNode(n) if n.as_str() == class))
    }
}

/// `…/frequency/DAILY` → `DAILY`; `…#csv` → `csv`.
fn last_segment(iri: &str) -> String {
    iri.trim_end_matches(['/', '#']).rsplit(['/', '#']).next().unwrap_or(iri).to_owned()
}

/// Parses a DCAT document read from `base` (which resolves relative IRIs).
pub fn parse_dcat(bytes: &[u8], syntax: RdfSyntax, base: &str) -> Result<DcatPage, HarvestError> {
    let not_dcat = |reason: String| HarvestError::NotACatalog { url: base.to_owned(), kind: "DCAT", reason };
    let parser = RdfParser::from_format(syntax.format())
        .with_base_iri(base)
        .map_err(|e| not_dcat(format!("the address is not an IRI: {e}")))?;
    let mut graph = Graph { edges: HashMap::new(), order: Vec::new() };
    for quad in parser.for_slice(bytes) {
        let quad = quad.map_err(|e| not_dcat(format!("not valid {}: {e}", syntax.name())))?;
        let subject = quad.subject.to_string();
        let edges = graph.edges.entry(subject.clone()).or_default();
        if edges.is_empty() {
            graph.order.push(subject);
        }
        edges.push((quad.predicate.as_str().to_owned(), quad.object));
    }
    let dataset_class = format!("{DCAT}Dataset");
    let mut page = DcatPage::default();
    for node in graph.order.iter().filter(|n| graph.is_a(n, &dataset_class)) {
        page.datasets.extend(dataset(&graph, node));
    }
    if graph.edges.is_empty() {
        return Err(not_dcat(format!("the {} document is empty", syntax.name())));
    }
    page.next_page = graph.order.iter().find_map(|node| {
        [format!("{HYDRA}next"), format!("{HYDRA}nextPage")].iter().find_map(|p| {
            graph.objects(node, p).find_map(|o| match o {
                Term::NamedNode(n) => Some(n.as_str().to_owned()),
                Term::Literal(l) => url::Url::parse(base).ok()?.join(l.value()).ok().map(String::from),
                _ => None,
            })
        })
    });
    Ok(page)
}

/// A dataset node as a remote dataset; `None` for a blank node without a
/// `dct:identifier`, which could not be told apart from one run to the next.
fn dataset(graph: &Graph, node: &str) -> Option<RemoteDataset> {
    let dct = |name: &str| format!("{DCT}{name}");
    let dcat = |name: &str| format!("{DCAT}{name}");
    let remote_id = match node.strip_prefix('<').and_then(|n| n.strip_suffix('>')) {
        Some(iri) => iri.to_owned(),
        None => graph.text(node, &dct("identifier"), false)?,
    };
    let title = graph.text(node, &dct("title"), false).unwrap_or_else(|| last_segment(&remote_id));
    let english_title = graph.text(node, &dct("title"), true).filter(|t| *t != title);
    let description = graph.text(node, &dct("description"), false);
    let english_description = graph.text(node, &dct("description"), true).filter(|d| Some(d) != description.as_ref());
    let mut keywords: Vec<String> = Vec::new();
    for literal in graph.literals(node, &dcat("keyword")) {
        let value = literal.value().trim().to_owned();
        if !value.is_empty() && !keywords.contains(&value) {
            keywords.push(value);
        }
    }
    let themes = graph
        .objects(node, &dcat("theme"))
        .filter_map(|theme| match theme {
            Term::Literal(l) => Some(l.value().to_owned()),
            other => {
                let inner = key(other)?;
                graph
                    .text(&inner, SKOS_PREF_LABEL, false)
                    .or_else(|| if let Term::NamedNode(n) = other { Some(last_segment(n.as_str())) } else { None })
            }
        })
        .collect();
    let distributions: Vec<RemoteDistribution> = graph
        .objects(node, &dcat("distribution"))
        .filter_map(key)
        .map(|d| RemoteDistribution {
            title: graph.text(&d, &dct("title"), false),
            format: graph.label(&d, &dct("format")),
            media_type: graph.label(&d, &dcat("mediaType")),
            url: graph
                .iri(&d, &dcat("downloadURL"))
                .or_else(|| graph.iri(&d, &dcat("accessURL")))
                .and_then(|u| web_url(&u)),
        })
        .collect();
    let license = graph.label_or_iri(node, &dct("license")).or_else(|| {
        graph.objects(node, &dcat("distribution")).filter_map(key).find_map(|d| graph.label_or_iri(&d, &dct("license")))
    });
    // RDF has no order: sorted, the same graph reads the same however it was
    // written, so an unchanged dataset is not taken for a changed one.
    let mut distributions = distributions;
    distributions.sort_by(|a, b| (&a.url, &a.title, &a.format).cmp(&(&b.url, &b.title, &b.format)));
    keywords.sort();
    let mut themes: Vec<String> = themes;
    themes.sort();
    Some(RemoteDataset {
        title,
        title_en: english_title,
        description,
        description_en: english_description,
        publisher: graph.label(node, &dct("publisher")),
        landing_page: graph.iri(node, &dcat("landingPage")).and_then(|u| web_url(&u)),
        keywords,
        themes,
        license,
        modified: graph.text(node, &dct("modified"), false),
        frequency: graph.iri(node, &dct("accrualPeriodicity")).map(|iri| last_segment(&iri)),
        distributions,
        remote_id,
    })
}
