//! Full-text search over the open catalog. The index is derived state: the
//! metadata store is the truth, and the index holds one document per
//! publicly listed entry, with the entry's `row_version` so that a sync can
//! tell what changed. It can be thrown away and rebuilt at any time.
//!
//! Chinese is segmented with jieba in search mode (so `人口` finds
//! `常住人口统计`), English is lower-cased and stemmed (`enterprises` finds
//! `enterprise`). Every word of a query must match somewhere (title,
//! description, keywords, data items or provider); titles weigh most. When
//! no entry has every word, entries with any of them are ranked instead, as
//! CKAN's minimum-match does. Results carry facet counts and highlighted
//! snippets.
//!
//! **Architecture Invariant:** this crate knows nothing of who may read what.
//! It indexes only what its caller hands it, and the caller hands it only
//! entries the public may see.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue, SortByString};
use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, StopWordFilter, TextAnalyzer, TokenStream};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term, doc};

/// Why a search or an index update failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The index could not be opened, read or written.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index directory could not be opened.
    #[error("search index directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    /// The index directory could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Another process (a running server) holds the index.
    #[error("another process (a running `gongshu serve`) holds the search index")]
    Locked,
    /// A query value is not acceptable.
    #[error("{param}: {en}")]
    Invalid {
        /// The parameter at fault.
        param: String,
        /// What is wrong, in English.
        en: String,
        /// What is wrong, in Chinese.
        zh: String,
    },
}

/// Facets a search can be narrowed by and counts are given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FacetKind {
    /// The providing organization (by id).
    Department,
    /// 主题.
    Theme,
    /// Format of the newest data version (`CSV`, `XLSX`, …).
    Format,
    /// 开放属性.
    Open,
    /// 更新周期.
    UpdateCycle,
    /// 分级.
    Level,
    /// Division code of the area covered.
    Region,
    /// `local` for this portal's own entries, `harvested` for entries read
    /// from another portal (区域协作).
    Origin,
}

impl FacetKind {
    /// Every facet, in display order.
    pub const ALL: [FacetKind; 8] = [
        FacetKind::Department,
        FacetKind::Theme,
        FacetKind::Format,
        FacetKind::Open,
        FacetKind::UpdateCycle,
        FacetKind::Level,
        FacetKind::Region,
        FacetKind::Origin,
    ];

    /// The parameter name.
    pub fn name(self) -> &'static str {
        match self {
            FacetKind::Department => "department",
            FacetKind::Theme => "theme",
            FacetKind::Format => "format",
            FacetKind::Open => "open",
            FacetKind::UpdateCycle => "update_cycle",
            FacetKind::Level => "level",
            FacetKind::Region => "region",
            FacetKind::Origin => "origin",
        }
    }

    /// Parses a parameter name.
    pub fn parse(name: &str) -> Option<FacetKind> {
        FacetKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    fn root(self) -> Facet {
        Facet::from_path([self.name()])
    }

    fn facet(self, value: &str) -> Facet {
        Facet::from_path([self.name(), value])
    }
}

/// What the index holds of one catalog entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CatalogDocument {
    /// The entry's id.
    pub id: String,
    /// Its optimistic-concurrency counter: a changed entry has a new one.
    pub row_version: i64,
    /// Name in Chinese.
    pub title_zh: String,
    /// Name in English.
    pub title_en: String,
    /// Abstract in Chinese.
    pub description_zh: String,
    /// Abstract in English.
    pub description_en: String,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Data item names and titles.
    pub items: Vec<String>,
    /// The provider's name.
    pub provider_name: String,
    /// Facet values, one or more per kind.
    pub facets: Vec<(FacetKind, String)>,
    /// Last change, as Unix seconds.
    pub updated_at: i64,
    /// Last publication, as Unix seconds.
    pub published_at: i64,
}

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Best match first (newest first when there is no text).
    #[default]
    Relevance,
    /// Most recently changed first.
    Updated,
    /// Most recently published first.
    Published,
}

impl SortOrder {
    /// Parses the `sort` parameter.
    pub fn parse(value: &str) -> Result<SortOrder, SearchError> {
        match value {
            "" | "relevance" | "score" => Ok(SortOrder::Relevance),
            "updated" | "metadata_modified" => Ok(SortOrder::Updated),
            "published" | "metadata_created" => Ok(SortOrder::Published),
            other => Err(SearchError::Invalid {
                param: "sort".into(),
                en: format!("unknown order `{other}`; use relevance, updated or published"),
                zh: format!("未知排序 `{other}`；可用 relevance、updated、published"),
            }),
        }
    }
}

/// A search.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Words to look for; empty lists everything.
    pub text: String,
    /// Facet values every hit must have; several values of one kind mean any of them.
    pub filters: Vec<(FacetKind, String)>,
    /// Order.
    pub sort: SortOrder,
    /// Page size.
    pub limit: usize,
    /// Hits to skip.
    pub offset: usize,
}

/// One hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The entry's id.
    pub id: String,
    /// Relevance (0 when sorted otherwise).
    pub score: f32,
    /// The Chinese name with matched words in `<b>` (HTML-escaped).
    pub title_html: String,
    /// A piece of the abstract with matched words in `<b>` (HTML-escaped);
    /// empty when the abstract did not match.
    pub description_html: String,
}

/// A page of hits with facet counts over every match.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// Every entry that matches.
    pub total: usize,
    /// Whether the words were matched all together (`false`: any of them).
    pub matched_all_words: bool,
    /// This page.
    pub hits: Vec<Hit>,
    /// Per facet, values with their counts, largest first.
    pub facets: BTreeMap<FacetKind, Vec<(String, u64)>>,
}

struct Fields {
    id: Field,
    row_version: Field,
    title_zh: Field,
    title_en: Field,
    description_zh: Field,
    description_en: Field,
    keywords: Field,
    items: Field,
    provider: Field,
    facets: Field,
    updated_at: Field,
    published_at: Field,
}

/// One word of a query: the terms it is in the Chinese fields, and in the
/// English ones (stemmed).
struct QueryWord {
    chinese: Vec<Term>,
    english: Vec<Term>,
}

/// The tokenizer name for Chinese text.
const CHINESE: &str = "zh_jieba";
/// tantivy's built-in English analyzer (lower case, stemmed).
const ENGLISH: &str = "en_stem";
/// Memory the writer may buffer before it flushes a segment.
const WRITER_HEAP_BYTES: usize = 64 * 1024 * 1024;

/// Segments that are words in no useful sense: whitespace, punctuation,
/// and the commonest function words.
const STOP_WORDS: &[&str] = &[
    " ", "\t", "\n", "\r", "　", "，", "。", "、", "；", "：", "？", "！", "（", "）", "《", "》", "“", "”", "‘", "’",
    "【", "】", "—", "…", "·", ",", ".", ";", ":", "?", "!", "(", ")", "[", "]", "\"", "'", "-", "/", "_", "的", "和",
    "与", "及", "或", "等", "之", "了", "在",
];

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let chinese = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(CHINESE)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let english = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ENGLISH)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let unstored_chinese = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(CHINESE).set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        // Fast, so that equal sort keys fall back to the id and pages are stable.
        id: builder.add_text_field("id", STRING | STORED | FAST),
        row_version: builder.add_i64_field("row_version", STORED),
        title_zh: builder.add_text_field("title_zh", chinese.clone()),
        title_en: builder.add_text_field("title_en", english.clone()),
        description_zh: builder.add_text_field("description_zh", chinese),
        description_en: builder.add_text_field("description_en", english),
        keywords: builder.add_text_field("keywords", unstored_chinese.clone()),
        items: builder.add_text_field("items", unstored_chinese.clone()),
        provider: builder.add_text_field("provider", unstored_chinese),
        facets: builder.add_facet_field("facets", FacetOptions::default()),
        updated_at: builder.add_i64_field("updated_at", INDEXED | FAST),
        published_at: builder.add_i64_field("published_at", INDEXED | FAST),
    };
    (builder.build(), fields)
}

fn chinese_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::new())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(STOP_WORDS.iter().map(|w| (*w).to_owned())))
        .build()
}

/// The file that names how the index's documents are written.
const FORMAT_FILE: &str = "gongshu-document-format";
/// Bumped when documents gain or change a field or facet, so an index
/// written before is rebuilt rather than answering without it.
const DOCUMENT_FORMAT: &str = "2";

/// The catalog's search index.
pub struct CatalogIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

impl CatalogIndex {
    /// Opens the index in `dir`, creating it (empty) when there is none.
    /// An index written by an older release with another schema is thrown
    /// away and created empty: it is derived state, and the caller's sync
    /// fills it again.
    /// An index whose documents an older release wrote differently (a
    /// facet it did not know) is thrown away the same way.
    pub fn open(dir: &Path) -> Result<CatalogIndex, SearchError> {
        let io = |source| SearchError::Io { path: dir.display().to_string(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let marker = dir.join(FORMAT_FILE);
        let current = std::fs::read_to_string(&marker).is_ok_and(|f| f.trim() == DOCUMENT_FORMAT);
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir)?;
        let index = match Index::open_or_create(directory, schema.clone()) {
            Ok(index) if current => index,
            Ok(_) | Err(tantivy::TantivyError::SchemaError(_)) => {
                std::fs::remove_dir_all(dir).map_err(io)?;
                std::fs::create_dir_all(dir).map_err(io)?;
                Index::create(tantivy::directory::MmapDirectory::open(dir)?, schema, Default::default())?
            }
            Err(other) => return Err(other.into()),
        };
        if !current {
            std::fs::write(&marker, DOCUMENT_FORMAT).map_err(io)?;
        }
        CatalogIndex::with_index(index, fields)
    }

    /// An index in memory (tests, and instances that rebuild on start).
    pub fn in_memory() -> Result<CatalogIndex, SearchError> {
        let (schema, fields) = schema();
        CatalogIndex::with_index(Index::create_in_ram(schema), fields)
    }

    fn with_index(index: Index, fields: Fields) -> Result<CatalogIndex, SearchError> {
        index.tokenizers().register(CHINESE, chinese_analyzer());
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = index.writer(WRITER_HEAP_BYTES).map_err(|error| match error {
            tantivy::TantivyError::LockFailure(..) => SearchError::Locked,
            other => SearchError::Index(other),
        })?;
        Ok(CatalogIndex { index, reader, writer: Mutex::new(writer), fields })
    }

    /// Adds or replaces entries and removes others, in one commit that
    /// searches see as soon as this returns.
    pub fn apply(&self, upserts: &[CatalogDocument], removals: &[String]) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for id in removals {
            writer.delete_term(Term::from_field_text(self.fields.id, id));
        }
        for document in upserts {
            writer.delete_term(Term::from_field_text(self.fields.id, &document.id));
            writer.add_document(self.document(document))?;
        }
        writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Empties the index (before a rebuild).
    pub fn clear(&self) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        writer.delete_all_documents()?;
        writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Every indexed entry with the `row_version` it was indexed at.
    pub fn indexed_versions(&self) -> Result<HashMap<String, i64>, SearchError> {
        let searcher = self.reader.searcher();
        let mut versions = HashMap::new();
        for segment in searcher.segment_readers() {
            let store = segment.get_store_reader(64).map_err(tantivy::TantivyError::from)?;
            for doc_id in segment.doc_ids_alive() {
                let document: TantivyDocument = store.get(doc_id)?;
                let id = document.get_first(self.fields.id).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
                let version = document.get_first(self.fields.row_version).and_then(|v| v.as_i64()).unwrap_or(-1);
                versions.insert(id, version);
            }
        }
        Ok(versions)
    }

    /// How many entries the index holds.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether the index holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn document(&self, d: &CatalogDocument) -> TantivyDocument {
        let f = &self.fields;
        let mut document = doc!(
            f.id => d.id.as_str(),
            f.row_version => d.row_version,
            f.title_zh => d.title_zh.as_str(),
            f.title_en => d.title_en.as_str(),
            f.description_zh => d.description_zh.as_str(),
            f.description_en => d.description_en.as_str(),
            f.provider => d.provider_name.as_str(),
            f.updated_at => d.updated_at,
            f.published_at => d.published_at,
        );
        for keyword in &d.keywords {
            document.add_text(f.keywords, keyword);
        }
        for item in &d.items {
            document.add_text(f.items, item);
        }
        for (kind, value) in &d.facets {
            if !value.is_empty() {
                document.add_facet(f.facets, kind.facet(value));
            }
        }
        document
    }

    /// The words of a query as each kind of field indexes them.
    fn query_words(&self, text: &str) -> Vec<QueryWord> {
        let mut chinese = self.index.tokenizers().get(CHINESE).expect("registered when opened");
        let mut english = self.index.tokenizers().get(ENGLISH).expect("built into tantivy");
        let mut words = Vec::new();
        let mut stream = chinese.token_stream(text);
        while let Some(token) = stream.next() {
            words.push(token.text.clone());
        }
        words.dedup();
        let mut terms = Vec::new();
        for word in words {
            let zh = [
                self.fields.title_zh,
                self.fields.description_zh,
                self.fields.keywords,
                self.fields.items,
                self.fields.provider,
            ]
            .iter()
            .map(|field| Term::from_field_text(*field, &word))
            .collect();
            let mut en = Vec::new();
            let mut stemmed = english.token_stream(&word);
            while let Some(token) = stemmed.next() {
                for field in [self.fields.title_en, self.fields.description_en] {
                    en.push(Term::from_field_text(field, &token.text));
                }
            }
            terms.push(QueryWord { chinese: zh, english: en });
        }
        terms
    }

    fn text_query(&self, terms: &[QueryWord], occur: Occur) -> Box<dyn Query> {
        let boost = |term: &Term| -> f32 {
            let field = term.field();
            if field == self.fields.title_zh || field == self.fields.title_en {
                3.0
            } else if field == self.fields.keywords {
                2.0
            } else {
                1.0
            }
        };
        let words = terms
            .iter()
            .map(|word| {
                let alternatives: Vec<(Occur, Box<dyn Query>)> = word
                    .chinese
                    .iter()
                    .chain(&word.english)
                    .map(|term| {
                        let query: Box<dyn Query> = Box::new(BoostQuery::new(
                            Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                            boost(term),
                        ));
                        (Occur::Should, query)
                    })
                    .collect();
                let any_field: Box<dyn Query> = Box::new(BooleanQuery::new(alternatives));
                (occur, any_field)
            })
            .collect();
        Box::new(BooleanQuery::new(words))
    }

    fn filter_query(&self, filters: &[(FacetKind, String)]) -> Vec<(Occur, Box<dyn Query>)> {
        let mut by_kind: BTreeMap<FacetKind, Vec<&str>> = BTreeMap::new();
        for (kind, value) in filters {
            by_kind.entry(*kind).or_default().push(value);
        }
        by_kind
            .into_iter()
            .map(|(kind, values)| {
                let any: Vec<(Occur, Box<dyn Query>)> = values
                    .into_iter()
                    .map(|value| {
                        let term = Term::from_facet(self.fields.facets, &kind.facet(value));
                        let query: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::Basic));
                        (Occur::Should, query)
                    })
                    .collect();
                let query: Box<dyn Query> = Box::new(BooleanQuery::new(any));
                (Occur::Must, query)
            })
            .collect()
    }

    /// Runs a search.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let searcher = self.reader.searcher();
        let terms = self.query_words(&request.text);
        let filters = self.filter_query(&request.filters);
        let build = |occur: Occur| -> Box<dyn Query> {
            let mut clauses = filters.iter().map(|(o, q)| (*o, q.box_clone())).collect::<Vec<_>>();
            if terms.is_empty() {
                clauses.push((Occur::Must, Box::new(tantivy::query::AllQuery)));
            } else {
                clauses.push((Occur::Must, self.text_query(&terms, occur)));
            }
            Box::new(BooleanQuery::new(clauses))
        };
        let mut query = build(Occur::Must);
        let mut matched_all_words = true;
        let mut total = searcher.search(query.as_ref(), &Count)?;
        if total == 0 && terms.len() > 1 {
            query = build(Occur::Should);
            matched_all_words = false;
            total = searcher.search(query.as_ref(), &Count)?;
        }

        let limit = request.limit.max(1);
        let page = TopDocs::with_limit(limit).and_offset(request.offset);
        let by_id = (SortByString::for_field("id"), Order::Asc);
        let by_date = |field: &str| ((SortByStaticFastValue::<i64>::for_field(field), Order::Desc), by_id.clone());
        let addresses: Vec<(f32, DocAddress)> = match (request.sort, terms.is_empty()) {
            (SortOrder::Relevance, false) => searcher
                .search(query.as_ref(), &page.order_by(((SortBySimilarityScore, Order::Desc), by_id.clone())))?
                .into_iter()
                .map(|((score, _), address)| (score, address))
                .collect(),
            (SortOrder::Published, _) => searcher
                .search(query.as_ref(), &page.order_by(by_date("published_at")))?
                .into_iter()
                .map(|(_, address)| (0.0, address))
                .collect(),
            (SortOrder::Updated | SortOrder::Relevance, _) => searcher
                .search(query.as_ref(), &page.order_by(by_date("updated_at")))?
                .into_iter()
                .map(|(_, address)| (0.0, address))
                .collect(),
        };

        let mut facet_collector = FacetCollector::for_field("facets");
        for kind in FacetKind::ALL {
            facet_collector.add_facet(kind.root());
        }
        let counts = searcher.search(query.as_ref(), &facet_collector)?;
        let mut facets = BTreeMap::new();
        for kind in FacetKind::ALL {
            let mut values: Vec<(String, u64)> = counts
                .get(kind.root())
                .map(|(facet, count)| (facet.to_path().last().copied().unwrap_or_default().to_owned(), count))
                .collect();
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            facets.insert(kind, values);
        }

        let mut title_snippets = SnippetGenerator::create(&searcher, query.as_ref(), self.fields.title_zh)?;
        title_snippets.set_max_num_chars(200);
        let mut description_snippets = SnippetGenerator::create(&searcher, query.as_ref(), self.fields.description_zh)?;
        description_snippets.set_max_num_chars(DESCRIPTION_CHARS);
        let mut hits = Vec::with_capacity(addresses.len());
        for (score, address) in addresses {
            let document: TantivyDocument = searcher.doc(address)?;
            let text = |field: Field| document.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let title = text(self.fields.title_zh);
            let title_html = highlight(&title, &title_snippets.snippet(&title), usize::MAX);
            let description = text(self.fields.description_zh);
            let description_snippet = description_snippets.snippet(&description);
            let description_html = if description_snippet.is_empty() {
                String::new()
            } else {
                highlight(&description, &description_snippet, DESCRIPTION_CHARS)
            };
            hits.push(Hit { id: text(self.fields.id), score, title_html, description_html });
        }
        Ok(SearchResults { total, matched_all_words, hits, facets })
    }
}

/// Abstracts up to this long are shown whole; longer ones as the snippet's piece.
const DESCRIPTION_CHARS: usize = 160;

/// `text` with the snippet's matches in `<b>`, HTML-escaped. tantivy's own
/// snippet ends at the last word it tokenized and so drops closing
/// punctuation (`）`, `。`); this keeps the whole text when it is short, and
/// marks a cut with `…` when it is not.
fn highlight(text: &str, snippet: &tantivy::snippet::Snippet, max_chars: usize) -> String {
    let window = if text.chars().count() <= max_chars { 0..text.len() } else { snippet.fragment_range() };
    let offset = snippet.fragment_range().start;
    let mut ranges: Vec<std::ops::Range<usize>> = snippet
        .highlighted()
        .iter()
        .map(|r| (r.start + offset).max(window.start)..(r.end + offset).min(window.end))
        .filter(|r| r.start < r.end)
        .collect();
    ranges.sort_by_key(|r| r.start);
    // Search-mode segmentation matches `空气`, `质量` and `空气质量` at once:
    // overlapping and touching matches are one highlight.
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    let mut html = String::new();
    if window.start > 0 {
        html.push('…');
    }
    let mut at = window.start;
    for range in merged {
        html.push_str(&escape(&text[at..range.start]));
        html.push_str("<b>");
        html.push_str(&escape(&text[range.clone()]));
        html.push_str("</b>");
        at = range.end;
    }
    html.push_str(&escape(&text[at..window.end]));
    if window.end < text.len() {
        html.push('…');
    }
    html
}

/// Escapes text for HTML, as snippets are.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
