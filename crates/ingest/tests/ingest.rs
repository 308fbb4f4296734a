//! Ingest end to end on files written the way real exports are: each case
//! writes its bytes, ingests them, and reads the Parquet back. The shared
//! conformance corpora are loaded too when `../shared` is beside the repo.
//! Issue 3.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use gongshu_ingest::{DeclaredSchema, IngestError, IngestOptions, Ingested, ingest};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

struct Loaded {
    report: Ingested,
    batch: RecordBatch,
}

impl Loaded {
    fn column_type(&self, name: &str) -> DataType {
        self.batch.schema().field_with_name(name).unwrap().data_type().clone()
    }

    /// The column's values rendered as text (nulls as `∅`).
    fn text(&self, name: &str) -> Vec<String> {
        let index = self.batch.schema().index_of(name).unwrap();
        let column = self.batch.column(index);
        let formatter = formatter(column.as_ref());
        (0..column.len()).map(|row| if column.is_null(row) { "∅".into() } else { formatter(row) }).collect()
    }
}

/// A formatter for the few types ingest writes.
fn formatter<'a>(column: &'a dyn Array) -> Box<dyn Fn(usize) -> String + 'a> {
    match column.data_type() {
        DataType::Utf8 => Box::new(move |row| column.as_string::<i32>().value(row).to_owned()),
        DataType::Int64 => {
            Box::new(move |row| column.as_primitive::<arrow_array::types::Int64Type>().value(row).to_string())
        }
        DataType::Float64 => {
            Box::new(move |row| column.as_primitive::<arrow_array::types::Float64Type>().value(row).to_string())
        }
        DataType::Decimal128(_, _) => {
            Box::new(move |row| column.as_primitive::<arrow_array::types::Decimal128Type>().value_as_string(row))
        }
        DataType::Date32 => Box::new(move |row| {
            let days = column.as_primitive::<arrow_array::types::Date32Type>().value(row);
            (chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days.into())).to_string()
        }),
        DataType::Boolean => Box::new(move |row| column.as_boolean().value(row).to_string()),
        DataType::Timestamp(_, _) => Box::new(move |row| {
            let micros = column.as_primitive::<arrow_array::types::TimestampMicrosecondType>().value(row);
            chrono::DateTime::from_timestamp_micros(micros).unwrap().naive_utc().to_string()
        }),
        other => panic!("unexpected type {other}"),
    }
}

fn load_file(path: &Path, options: &IngestOptions) -> Result<Loaded, IngestError> {
    let output = tempfile::NamedTempFile::new().unwrap();
    let report = ingest(path, options, output.path(), &|_| {})?;
    let file = std::fs::File::open(output.path()).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    let schema = batches
        .first()
        .map(|b| b.schema())
        .unwrap_or_else(|| std::sync::Arc::new(gongshu_ingest::arrow_schema(&report.columns)));
    let batch = single_batch(&schema, &batches);
    assert_eq!(batch.num_rows() as u64, report.row_count);
    Ok(Loaded { report, batch })
}

fn single_batch(schema: &arrow_schema::SchemaRef, batches: &[RecordBatch]) -> RecordBatch {
    match batches {
        [] => RecordBatch::new_empty(schema.clone()),
        many => arrow_select::concat::concat_batches(schema, many).unwrap(),
    }
}

fn load_bytes(name: &str, bytes: &[u8], options: &IngestOptions) -> Result<Loaded, IngestError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    load_file(&path, options)
}

fn load(name: &str, bytes: &[u8]) -> Loaded {
    load_bytes(name, bytes, &IngestOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn gb18030(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

#[test]
fn gbk_export_with_title_rows_and_crlf() {
    let text = "2023年各地区生产总值\r\n单位：亿元\r\n\r\n地区,行政区划代码,国内生产总值,统计日期\r\n北京市,110000,\"43,760.7\",2023年12月31日\r\n天津市,120000,\"16,737.3\",2023年12月31日\r\n河北省,130000,\"43,944.1\",2023年12月31日\r\n";
    let loaded = load("gdp.csv", &gb18030(text));
    assert_eq!(loaded.report.encoding.as_deref(), Some("gb18030"));
    assert_eq!(loaded.report.header_line, 4);
    assert_eq!(loaded.text("地区"), ["北京市", "天津市", "河北省"]);
    assert_eq!(loaded.column_type("行政区划代码"), DataType::Int64);
    assert_eq!(loaded.column_type("国内生产总值"), DataType::Decimal128(38, 1));
    assert_eq!(loaded.text("国内生产总值"), ["43760.7", "16737.3", "43944.1"]);
    assert_eq!(loaded.text("统计日期"), ["2023-12-31"; 3]);
}

#[test]
fn cjk_extension_characters_round_trip_from_gb18030() {
    // U+20000 and U+2A6A5 need GB18030's four-byte sequences; GBK cannot hold them.
    let text = "姓名,村名\n张𠀀,𪚥村\n李四,北村\n";
    let loaded = load("names.csv", &gb18030(text));
    assert_eq!(loaded.text("姓名"), ["张𠀀", "李四"]);
    assert_eq!(loaded.text("村名"), ["𪚥村", "北村"]);
}

#[test]
fn utf16_tab_separated_and_big5() {
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in "地区\t人口\r\n北京\t2189\r\n上海\t2487\r\n".encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let loaded = load("population.txt", &utf16);
    assert_eq!(loaded.report.delimiter.as_deref(), Some("tab"));
    assert_eq!(loaded.text("地区"), ["北京", "上海"]);
    assert_eq!(loaded.column_type("人口"), DataType::Int64);

    let big5 = encoding_rs::BIG5
        .encode("縣市,人口數,面積\n臺北市,2602418,271.7997\n新北市,3974911,2052.5667\n臺中市,2774200,2214.8968\n")
        .0
        .into_owned();
    let loaded = load("taiwan.csv", &big5);
    assert_eq!(loaded.report.encoding.as_deref(), Some("Big5"));
    assert_eq!(loaded.text("縣市"), ["臺北市", "新北市", "臺中市"]);
}

#[test]
fn line_endings_quotes_and_multiline_fields() {
    let cr_only = load("cr.csv", b"a,b\r1,x\r2,y\r");
    assert_eq!(cr_only.text("b"), ["x", "y"]);
    let multiline = load("multi.csv", "名称,说明\n甲,\"第一行\n第二行\"\n乙,\"含,逗号\"\n".as_bytes());
    assert_eq!(multiline.text("说明"), ["第一行\n第二行", "含,逗号"]);
    let psv = load("data.psv", b"a|b\n1|2\n");
    assert_eq!(psv.report.delimiter.as_deref(), Some("|"));
}

#[test]
fn codes_identifiers_numbers_and_dates_get_their_types() {
    let text = "统一社会信用代码,身份证号,邮编,金额,人数,日期,时间,是否有效\n\
        91350100M000100Y43,110101199003074578,010010,\"1,234.50\",\"1,200\",2024-01-02,2024-01-02 08:30:00,是\n\
        91330100MA2H0D7X3Y,330106198512120013,310000,-7.25,35,2024/1/3,2024-01-03 09:00:00,否\n\
        91110000100000000X,440301200001010027,100000,0,0,20240104,2024-01-04 10:15:30,是\n";
    let loaded = load("registry.csv", text.as_bytes());
    assert_eq!(loaded.column_type("统一社会信用代码"), DataType::Utf8);
    assert_eq!(loaded.column_type("身份证号"), DataType::Utf8);
    assert_eq!(loaded.text("邮编"), ["010010", "310000", "100000"], "leading zeros stay");
    assert_eq!(loaded.column_type("金额"), DataType::Decimal128(38, 2));
    assert_eq!(loaded.text("金额"), ["1234.50", "-7.25", "0.00"]);
    assert_eq!(loaded.text("人数"), ["1200", "35", "0"]);
    assert_eq!(loaded.text("日期"), ["2024-01-02", "2024-01-03", "2024-01-04"]);
    assert_eq!(loaded.column_type("时间"), DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, None));
    assert_eq!(loaded.text("是否有效"), ["true", "false", "true"]);
    let profile = &loaded.report.profile;
    assert_eq!(profile.columns[3].min.as_deref(), Some("-7.25"));
    assert_eq!(profile.duplicate_rows, 0);
}

#[test]
fn types_are_inferred_over_the_whole_file() {
    // A code column whose first thousand values look like numbers.
    let mut text = String::from("code,value\n");
    for i in 0..1000 {
        text.push_str(&format!("{},{i}\n", 100_000 + i));
    }
    text.push_str("00123,1000\n");
    let loaded = load("late.csv", text.as_bytes());
    assert_eq!(loaded.column_type("code"), DataType::Utf8, "the last row's leading zero makes it a code");
    assert_eq!(loaded.text("code")[1000], "00123");
    assert_eq!(loaded.column_type("value"), DataType::Int64);
}

#[test]
fn ragged_rows_are_padded_or_refused_with_their_line() {
    let loaded = load("short.csv", b"a,b,c\n1,2,3\n4,5\n,,\n7,8,9,,\n");
    assert_eq!(loaded.text("c"), ["3", "∅", "9"]);
    assert_eq!(loaded.report.warnings.len(), 1);
    assert_eq!(loaded.report.warnings[0].line, 3);

    let error = load_bytes("long.csv", b"a,b\n1,2\n3,4,surprise\n", &IngestOptions::default()).err().unwrap();
    let message = error.to_string();
    assert!(message.contains("line 3") && message.contains("surprise"), "{message}");
}

#[test]
fn empty_header_cells_and_duplicates_get_names() {
    let loaded = load("blank.csv", ",人均国内生产总值,人均国内生产总值\n1978年,381.75,1\n1979年,419.78,2\n".as_bytes());
    let names: Vec<String> = loaded.report.columns.iter().map(|c| c.name.clone()).collect();
    assert_eq!(names, ["column_1", "人均国内生产总值", "人均国内生产总值_2"]);
    assert_eq!(loaded.text("column_1"), ["1978年", "1979年"]);
}

#[test]
fn a_declared_schema_overrides_inference_and_is_enforced() {
    let schema = DeclaredSchema::from_json(
        r#"{"fields": [{"name": "code", "type": "string"}, {"name": "n", "type": "integer"}]}"#,
    )
    .unwrap();
    let options = IngestOptions { schema: Some(schema.clone()), ..Default::default() };
    let loaded = load_bytes("declared.csv", b"code,n\n110000,1\n120000,2\n", &options).unwrap();
    assert_eq!(loaded.column_type("code"), DataType::Utf8);
    assert_eq!(loaded.text("code"), ["110000", "120000"]);

    let error = load_bytes("declared.csv", b"code,n\n110000,1\n120000,two\n", &options).err().unwrap().to_string();
    assert!(error.contains("line 3") && error.contains("`n`") && error.contains("integer"), "{error}");
    let unknown = DeclaredSchema::from_json(r#"{"fields": [{"name": "missing"}]}"#).unwrap();
    let options = IngestOptions { schema: Some(unknown), ..Default::default() };
    let error = load_bytes("declared.csv", b"code,n\n1,2\n", &options).err().unwrap().to_string();
    assert!(error.contains("missing") && error.contains("code, n"), "{error}");
}

#[test]
fn overrides_and_bad_input() {
    let text = gb18030("名称;数量\n甲;1\n");
    let options = IngestOptions { encoding: Some("gbk".into()), delimiter: Some(b';'), ..Default::default() };
    let loaded = load_bytes("semi.txt", &text, &options).unwrap();
    assert_eq!(loaded.text("名称"), ["甲"]);
    let options = IngestOptions { skip_rows: Some(1), ..Default::default() };
    let loaded = load_bytes("skip.csv", b"title\na,b\n1,2\n", &options).unwrap();
    assert_eq!(loaded.report.columns[0].name, "a");

    assert!(matches!(load_bytes("empty.csv", b"", &IngestOptions::default()), Err(IngestError::Empty)));
    let header_only = load("header.csv", b"a,b\n");
    assert_eq!(header_only.report.row_count, 0);
    let options = IngestOptions { encoding: Some("ebcdic-klingon".into()), ..Default::default() };
    assert!(matches!(load_bytes("x.csv", b"a\n1\n", &options), Err(IngestError::UnknownEncoding(_))));
    assert!(matches!(load_bytes("x.docx", b"PK", &IngestOptions::default()), Err(IngestError::UnsupportedFormat(_))));
}

#[test]
fn duplicate_rows_and_content_hash() {
    let first = load("dup.csv", b"a,b\n1,x\n1,x\n2,y\n");
    assert_eq!(first.report.profile.duplicate_rows, 1);
    let again = load("dup.csv", b"a,b\n1,x\n1,x\n2,y\n");
    assert_eq!(first.report.content_hash, again.report.content_hash, "the same input gives the same file");
    assert_eq!(first.report.content_hash.len(), 64);
}

/// The shared conformance corpora, when `../shared` is beside the repository.
fn conformance() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/conformance");
    match std::fs::metadata(&path) {
        Ok(_) => Some(path),
        Err(_) => {
            eprintln!("notice: ../shared/data/conformance is absent; skipping the conformance corpora");
            None
        }
    }
}

#[test]
fn the_same_nbs_table_in_three_encodings_loads_identically() {
    let Some(corpus) = conformance() else { return };
    let gbk = load_file(&corpus.join("encodings/nbs_gdp_gbk_crlf.csv"), &IngestOptions::default()).unwrap();
    let utf8 = load_file(&corpus.join("encodings/nbs_gdp_utf8bom_crlf.csv"), &IngestOptions::default()).unwrap();
    let utf16 = load_file(&corpus.join("encodings/nbs_gdp_utf16le_bom_tab.txt"), &IngestOptions::default()).unwrap();
    assert_eq!(gbk.report.encoding.as_deref(), Some("gb18030"));
    assert_eq!(utf16.report.encoding.as_deref(), Some("UTF-16LE"));
    assert_eq!(gbk.report.columns, utf8.report.columns);
    assert_eq!(gbk.report.columns, utf16.report.columns);
    assert_eq!(gbk.batch, utf8.batch);
    assert_eq!(gbk.batch, utf16.batch);
    assert!(gbk.report.row_count > 30);
}

#[test]
fn messy_real_files_load_or_fail_clearly() {
    let Some(corpus) = conformance() else { return };
    let mut loaded = 0;
    for folder in ["messytables", "ckanext-xloader", "encodings"] {
        for entry in std::fs::read_dir(corpus.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(extension, "csv" | "tsv" | "psv" | "ssv" | "txt") {
                continue;
            }
            let output = tempfile::NamedTempFile::new().unwrap();
            match ingest(&path, &IngestOptions::default(), output.path(), &|_| {}) {
                Ok(report) => {
                    loaded += 1;
                    assert!(!report.columns.is_empty(), "{}", path.display());
                }
                Err(error) => {
                    // A refusal must say where and what.
                    let message = error.to_string();
                    assert!(
                        message.contains("line") || matches!(error, IngestError::Empty),
                        "{}: {message}",
                        path.display()
                    );
                    eprintln!("refused {}: {message}", path.display());
                }
            }
        }
    }
    assert!(loaded >= 30, "only {loaded} files loaded");

    let big5 = load_file(&corpus.join("messytables/characters.csv"), &IngestOptions::default()).unwrap();
    assert_eq!(big5.report.encoding.as_deref(), Some("Big5"));
    assert!(big5.text("景點中文名稱").iter().any(|name| name.contains("國家風景區")));
    let utf16 = load_file(&corpus.join("messytables/utf-16le_encoded.csv"), &IngestOptions::default()).unwrap();
    assert!(utf16.report.row_count > 0);
    // Title, notes and placeholder rows above a header of years, `;`-separated.
    let padded = load_file(&corpus.join("messytables/weird_head_padding.csv"), &IngestOptions::default()).unwrap();
    assert_eq!(padded.report.header_line, 12);
    assert!(padded.report.columns.iter().any(|c| c.name == "1985"));
    let cr = load_file(&corpus.join("messytables/mixedGLB.csv"), &IngestOptions::default()).unwrap();
    assert!(cr.report.row_count > 1, "CR-only line ends split rows");
}

#[test]
fn nbs_annual_tables_keep_their_row_labels() {
    let Some(corpus) = conformance() else { return };
    let population =
        load_file(&corpus.join("nbs-annual-1978-2014/人口/总人口.csv"), &IngestOptions::default()).unwrap();
    let first = &population.report.columns[0];
    assert_eq!(population.column_type(&first.name), DataType::Utf8);
    assert!(population.text(&first.name).iter().any(|label| label.ends_with('年')));
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

#[test]
fn spreadsheets_pick_the_data_sheet_and_skip_title_rows() {
    let loaded = load_file(&fixture("districts.xlsx"), &IngestOptions::default()).unwrap();
    assert_eq!(loaded.report.sheet.as_deref(), Some("2023年区划人口"), "the sheet with data, not the notes in front");
    assert_eq!(loaded.report.header_line, 4);
    assert_eq!(loaded.text("区名"), ["上城区", "拱墅区", "西湖区"]);
    assert_eq!(loaded.text("统计日期"), ["2023-12-31"; 3]);
    assert_eq!(loaded.column_type("常住人口"), DataType::Decimal128(38, 1));
    let by_number =
        load_file(&fixture("districts.xlsx"), &IngestOptions { sheet: Some("1".into()), ..Default::default() })
            .unwrap();
    assert_eq!(by_number.report.sheet.as_deref(), Some("说明"));
    let missing =
        load_file(&fixture("districts.xlsx"), &IngestOptions { sheet: Some("人口".into()), ..Default::default() })
            .err()
            .unwrap();
    assert!(
        missing.to_string().contains("2023年区划人口") && missing.message_zh().contains("不存在工作表"),
        "{missing}"
    );
}

#[test]
fn json_arrays_api_envelopes_and_ndjson() {
    let array = load(
        "people.json",
        r#"[{"姓名": "张三", "年龄": 30, "标签": ["a", "b"]}, {"姓名": "李四", "城市": "杭州"}]"#.as_bytes(),
    );
    let names: Vec<String> = array.report.columns.iter().map(|c| c.name.clone()).collect();
    assert_eq!(names, ["姓名", "年龄", "标签", "城市"], "keys in the order they first appear");
    assert_eq!(array.text("标签"), [r#"["a","b"]"#, "∅"]);
    assert_eq!(array.column_type("年龄"), DataType::Int64);

    let envelope = load("api.json", r#"{"code": 200, "msg": "ok", "data": [{"id": "001"}, {"id": "002"}]}"#.as_bytes());
    assert_eq!(envelope.text("id"), ["001", "002"], "codes stay text");

    let lines = load("events.ndjson", b"{\"a\": 1, \"b\": true}\n\n{\"a\": 2}\n");
    assert_eq!(lines.report.format, "ndjson");
    assert_eq!(lines.text("b"), ["true", "∅"]);
    let broken = load_bytes("broken.ndjson", b"{\"a\": 1}\n[1, 2]\n", &IngestOptions::default()).err().unwrap();
    assert!(broken.to_string().contains("line 2"), "{broken}");
    let not_records = load_bytes("flat.json", b"{\"a\": 1}", &IngestOptions::default()).err().unwrap();
    assert!(matches!(not_records, IngestError::Unreadable { .. }), "{not_records}");
}

#[test]
fn real_workbooks_load_or_are_refused_clearly() {
    let Some(corpus) = conformance() else { return };
    let nbs = load_file(&corpus.join("encodings/nbs_gdp_and_areas.xlsx"), &IngestOptions::default()).unwrap();
    assert!(nbs.report.row_count > 30 && nbs.report.sheet.is_some());
    let empty = load_file(&corpus.join("messytables/libreoffice.xlsx"), &IngestOptions::default()).err().unwrap();
    assert!(matches!(empty, IngestError::Empty), "an empty workbook says so: {empty}");
    for name in ["simple.xls", "simple.xlsx", "simple.ods", "unicode_sheet_name.xls", "large.xlsx"] {
        let loaded = load_file(&corpus.join("messytables").join(name), &IngestOptions::default());
        assert!(loaded.is_ok(), "{name}: {:?}", loaded.err().map(|e| e.to_string()));
    }
    let encrypted =
        load_file(&corpus.join("messytables/encrypted_no_password.xls"), &IngestOptions::default()).err().unwrap();
    assert!(matches!(encrypted, IngestError::Unreadable { .. }), "{encrypted}");
    assert!(encrypted.message_zh().contains("无法读取电子表格"));
}

/// Writes `batch` as a Parquet file the way another tool would (snappy, its own types).
fn parquet_bytes(batch: &RecordBatch) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    bytes
}

#[test]
fn parquet_keeps_its_own_types_and_nulls() {
    use std::sync::Arc;

    use arrow_array::builder::{Int32Builder, ListBuilder};
    use arrow_array::{
        BooleanArray, Date32Array, Decimal128Array, DictionaryArray, Float32Array, Int32Array, LargeStringArray,
        StringArray, TimestampMillisecondArray, UInt64Array,
    };
    use arrow_schema::{Field, Schema, TimeUnit};

    let mut tags = ListBuilder::new(Int32Builder::new());
    tags.values().append_value(1);
    tags.values().append_value(2);
    tags.append(true);
    tags.append(false);
    let schema = Schema::new(vec![
        Field::new("code", DataType::Utf8, true),
        Field::new("count", DataType::Int32, true),
        Field::new("big", DataType::UInt64, false),
        Field::new("ratio", DataType::Float32, true),
        Field::new("amount", DataType::Decimal128(10, 2), true),
        Field::new("day", DataType::Date32, true),
        Field::new("at", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        Field::new("ok", DataType::Boolean, true),
        Field::new("note", DataType::LargeUtf8, true),
        Field::new("category", DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)), true),
        Field::new("tags", DataType::List(Arc::new(Field::new("item", DataType::Int32, true))), true),
        Field::new("", DataType::Int32, true),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(StringArray::from(vec![Some("00123"), None])),
            Arc::new(Int32Array::from(vec![Some(7), None])),
            Arc::new(UInt64Array::from(vec![u64::MAX, 1])),
            Arc::new(Float32Array::from(vec![Some(0.5), Some(1.25)])),
            Arc::new(Decimal128Array::from(vec![Some(123_456), Some(-7)]).with_precision_and_scale(10, 2).unwrap()),
            Arc::new(Date32Array::from(vec![Some(19_724), None])),
            Arc::new(TimestampMillisecondArray::from(vec![Some(1_704_164_645_123), None])),
            Arc::new(BooleanArray::from(vec![Some(true), Some(false)])),
            Arc::new(LargeStringArray::from(vec![Some("-"), Some("𠀀𪚥")])),
            Arc::new(DictionaryArray::<arrow_array::types::Int32Type>::from_iter([Some("甲"), Some("乙")])),
            Arc::new(tags.finish()),
            Arc::new(Int32Array::from(vec![Some(1), Some(2)])),
        ],
    )
    .unwrap();
    let loaded = load("registry.parquet", &parquet_bytes(&batch));
    assert_eq!(loaded.report.format, "parquet");
    assert_eq!(loaded.report.header_line, 0);
    let types: Vec<DataType> = loaded.batch.schema().fields().iter().map(|f| f.data_type().clone()).collect();
    assert_eq!(
        types,
        [
            DataType::Utf8,
            DataType::Int64,
            DataType::Decimal128(38, 0),
            DataType::Float64,
            DataType::Decimal128(38, 2),
            DataType::Date32,
            DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Boolean,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Int64,
        ]
    );
    assert_eq!(loaded.text("code"), ["00123", "∅"], "a text column is not re-inferred");
    assert_eq!(loaded.text("big"), ["18446744073709551615", "1"]);
    assert_eq!(loaded.text("amount"), ["1234.56", "-0.07"]);
    assert_eq!(loaded.text("day"), ["2024-01-02", "∅"]);
    assert_eq!(loaded.text("at"), ["2024-01-02 03:04:05.123", "∅"]);
    assert_eq!(loaded.text("note"), ["-", "𠀀𪚥"], "`-` is a value in Parquet, and CJK extensions survive");
    assert_eq!(loaded.text("category"), ["甲", "乙"]);
    assert_eq!(loaded.text("tags"), ["[1, 2]", "∅"]);
    assert_eq!(loaded.report.columns[11].name, "column_12", "blank names get one");
    let note = &loaded.report.profile.columns[8];
    assert_eq!((note.null_count, note.min.as_deref()), (0, Some("-")));
    let count = &loaded.report.profile.columns[1];
    assert_eq!((count.null_count, count.max.as_deref()), (1, Some("7")));
}

#[test]
fn parquet_round_trips_a_version_and_refuses_what_it_cannot_read() {
    let csv = load("registry.csv", "代码,金额,日期\n001,\"1,234.50\",2024年1月2日\n002,7,2024/1/3\n".as_bytes());
    let again = load("again.parquet", &parquet_bytes(&csv.batch));
    assert_eq!(again.report.columns, csv.report.columns);
    assert_eq!(again.batch, csv.batch);
    assert_eq!(again.report.profile, csv.report.profile);

    let garbage = load_bytes("broken.parquet", b"PAR1 not really", &IngestOptions::default()).err().unwrap();
    assert!(matches!(&garbage, IngestError::Unreadable { .. }), "{garbage}");
    assert!(garbage.to_string().contains("Parquet"), "{garbage}");
    assert!(garbage.message_zh().contains("Parquet"));

    let schema = DeclaredSchema::from_json(r#"{"fields": [{"name": "代码", "type": "integer"}]}"#).unwrap();
    let declared = load_bytes(
        "again.parquet",
        &parquet_bytes(&csv.batch),
        &IngestOptions { schema: Some(schema), ..IngestOptions::default() },
    )
    .err()
    .unwrap();
    assert!(matches!(declared, IngestError::Schema { .. }), "{declared}");
}
