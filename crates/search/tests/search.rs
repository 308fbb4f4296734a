//! The catalog index on a small catalog written the way departments write
//! theirs: Chinese names and abstracts, some English, facets. Issue 4.

use gongshu_search::{CatalogDocument, CatalogIndex, FacetKind, SearchRequest, SortOrder};

fn entry(id: &str, title: &str, description: &str, theme: &str, updated_at: i64) -> CatalogDocument {
    CatalogDocument {
        id: id.into(),
        row_version: 1,
        title_zh: title.into(),
        description_zh: description.into(),
        facets: vec![(FacetKind::Theme, theme.into()), (FacetKind::Open, "unconditional".into())],
        updated_at,
        published_at: updated_at,
        ..CatalogDocument::default()
    }
}

fn catalog() -> CatalogIndex {
    let index = CatalogIndex::in_memory().unwrap();
    let mut registry =
        entry("registry", "企业登记信息", "市场主体登记的企业名称、统一社会信用代码和登记机关。", "市场监管", 30);
    registry.title_en = "Enterprise registrations".into();
    registry.keywords = vec!["工商".into(), "营业执照".into()];
    registry.facets.push((FacetKind::Format, "CSV".into()));
    let mut census =
        entry("census", "第七次全国人口普查主要数据", "按区县汇总的常住人口、户数和性别构成。", "人口", 20);
    census.facets.push((FacetKind::Format, "XLSX".into()));
    let mut air = entry("air", "空气质量日报", "各监测站点每日 PM2.5、PM10 和空气质量指数。", "生态环境", 40);
    air.title_en = "Daily air quality".into();
    air.items = vec!["aqi".into(), "空气质量指数".into()];
    let population_in_text = entry("flows", "流动人员登记", "含外来人口居住登记信息，用于人口服务管理。", "人口", 10);
    let mut closed = entry("permits", "建筑施工许可", "施工许可证核发信息。", "城乡建设", 50);
    closed.facets = vec![(FacetKind::Theme, "城乡建设".into()), (FacetKind::Open, "conditional".into())];
    index.apply(&[registry, census, air, population_in_text, closed], &[]).unwrap();
    index
}

fn ids(index: &CatalogIndex, request: SearchRequest) -> Vec<String> {
    index.search(&request).unwrap().hits.into_iter().map(|h| h.id).collect()
}

fn text(words: &str) -> SearchRequest {
    SearchRequest { text: words.into(), limit: 10, ..SearchRequest::default() }
}

#[test]
fn chinese_words_match_inside_longer_words_and_titles_rank_first() {
    let index = catalog();
    let population = ids(&index, text("人口"));
    assert_eq!(population.len(), 2, "{population:?}");
    assert!(population.contains(&"census".to_owned()) && population.contains(&"flows".to_owned()));
    assert_eq!(ids(&index, text("人口普查")), ["census"]);
    assert_eq!(ids(&index, text("企业登记"))[0], "registry", "both words in the title beat one");
    assert_eq!(ids(&index, text("空气质量")), ["air"]);
    assert_eq!(ids(&index, text("营业执照")), ["registry"], "keywords count");
    assert_eq!(ids(&index, text("AQI")), ["air"], "data items count, case folded");
}

#[test]
fn english_is_stemmed() {
    let index = catalog();
    assert_eq!(ids(&index, text("enterprise registration")), ["registry"]);
    assert_eq!(ids(&index, text("Air Qualities")), ["air"]);
}

#[test]
fn every_word_must_match_unless_none_does() {
    let index = catalog();
    let both = index.search(&text("人口 登记")).unwrap();
    assert!(both.matched_all_words);
    assert_eq!(both.hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["flows"]);
    let any = index.search(&text("空气 许可证")).unwrap();
    assert!(!any.matched_all_words, "no entry has both, so either will do");
    assert_eq!(any.total, 2);
    assert_eq!(index.search(&text("的")).unwrap().total, 5, "a stop word alone is no query at all");
}

#[test]
fn facets_count_every_match_and_filters_narrow() {
    let index = catalog();
    let all = index.search(&text("")).unwrap();
    assert_eq!(all.total, 5);
    assert_eq!(all.facets[&FacetKind::Theme][0], ("人口".to_owned(), 2));
    assert_eq!(all.facets[&FacetKind::Open], [("unconditional".to_owned(), 4), ("conditional".to_owned(), 1)]);
    let filtered = SearchRequest {
        filters: vec![(FacetKind::Theme, "人口".into()), (FacetKind::Theme, "生态环境".into())],
        ..text("")
    };
    assert_eq!(index.search(&filtered).unwrap().total, 3, "values of one facet are alternatives");
    let narrowed = SearchRequest { filters: vec![(FacetKind::Format, "CSV".into())], ..text("登记") };
    assert_eq!(ids(&index, narrowed), ["registry"]);
}

#[test]
fn sorting_paging_and_highlights() {
    let index = catalog();
    let newest = SearchRequest { sort: SortOrder::Updated, ..text("") };
    assert_eq!(ids(&index, newest), ["permits", "air", "registry", "census", "flows"]);
    let page = SearchRequest { sort: SortOrder::Published, limit: 2, offset: 1, ..text("") };
    assert_eq!(ids(&index, page), ["air", "registry"]);
    let hits = index.search(&text("人口")).unwrap().hits;
    let census = hits.iter().find(|h| h.id == "census").unwrap();
    assert_eq!(census.title_html, "第七次全国<b>人口</b>普查主要数据");
    assert_eq!(census.description_html, "按区县汇总的常住<b>人口</b>、户数和性别构成。", "closing punctuation stays");
    let air = &index.search(&text("空气质量")).unwrap().hits[0];
    assert_eq!(air.title_html, "<b>空气质量</b>日报");
    assert!(census.description_html.contains("<b>人口</b>"), "{}", census.description_html);
    let plain = index.search(&text("营业执照")).unwrap().hits;
    assert_eq!(plain[0].title_html, "企业登记信息", "a title without the word is shown whole");
}

#[test]
fn updates_replace_removals_remove_and_the_index_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = CatalogIndex::open(dir.path()).unwrap();
        index.apply(&[entry("a", "<公交>线路", "", "交通", 1), entry("b", "公交站点", "", "交通", 2)], &[]).unwrap();
        let mut renamed = entry("a", "地铁线路", "", "交通", 3);
        renamed.row_version = 2;
        index.apply(&[renamed], &["b".to_owned()]).unwrap();
    }
    let index = CatalogIndex::open(dir.path()).unwrap();
    assert_eq!(index.len(), 1);
    assert_eq!(index.indexed_versions().unwrap().into_iter().collect::<Vec<_>>(), [("a".to_owned(), 2)]);
    assert_eq!(ids(&index, text("公交")), Vec::<String>::new());
    assert_eq!(ids(&index, text("地铁")), ["a"]);
    index.clear().unwrap();
    assert!(index.is_empty());
}

#[test]
fn an_index_with_another_schema_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut builder = tantivy::schema::Schema::builder();
        let title = builder.add_text_field("title", tantivy::schema::TEXT);
        let old = tantivy::Index::create_in_dir(dir.path(), builder.build()).unwrap();
        let mut writer: tantivy::IndexWriter = old.writer(15_000_000).unwrap();
        writer.add_document(tantivy::doc!(title => "an older release")).unwrap();
        writer.commit().unwrap();
    }
    let index = CatalogIndex::open(dir.path()).unwrap();
    assert!(index.is_empty(), "emptied for the caller's sync to fill");
    index.apply(&[entry("a", "公交线路", "", "交通", 1)], &[]).unwrap();
    assert_eq!(ids(&index, text("公交")), ["a"]);
}

#[test]
fn an_index_whose_documents_an_older_release_wrote_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = CatalogIndex::open(dir.path()).unwrap();
        index.apply(&[entry("a", "公交线路", "", "交通", 1)], &[]).unwrap();
    }
    assert_eq!(CatalogIndex::open(dir.path()).unwrap().len(), 1, "the same release keeps its index");
    // A release before the `origin` facet wrote no format file.
    std::fs::remove_file(dir.path().join("gongshu-document-format")).unwrap();
    let index = CatalogIndex::open(dir.path()).unwrap();
    assert!(index.is_empty(), "emptied for the caller's sync to fill");
}
