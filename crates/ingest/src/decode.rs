//! Turning bytes into text: the encoding is detected from the byte order
//! mark, from UTF-8 validity, or by `chardetng` over a sample, unless the
//! caller names it. GBK is read as GB18030, its superset, so that every
//! character of a Chinese government export decodes.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use encoding_rs::{Encoding, GB18030, GBK, UTF_8, UTF_16BE, UTF_16LE};

use crate::IngestError;

/// How many bytes are looked at to detect the encoding and the layout.
pub(crate) const SAMPLE_BYTES: usize = 256 * 1024;

/// Picks the encoding of `sample`, the start of a file.
pub(crate) fn detect(sample: &[u8]) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(sample) {
        return encoding;
    }
    if is_utf8_prefix(sample) {
        return UTF_8;
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(sample, false);
    match detector.guess(None, chardetng::Utf8Detection::Allow) {
        encoding if encoding == GBK => GB18030,
        encoding => encoding,
    }
}

/// Whether `sample` is UTF-8, allowing a character cut off at its end.
fn is_utf8_prefix(sample: &[u8]) -> bool {
    match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(error) => error.error_len().is_none() && sample.len() - error.valid_up_to() < 4,
    }
}

/// Resolves an encoding label such as `gbk`, `gb18030`, `big5`, `utf-16le`.
pub(crate) fn by_label(label: &str) -> Result<&'static Encoding, IngestError> {
    match Encoding::for_label(label.trim().as_bytes()) {
        Some(encoding) if encoding == GBK => Ok(GB18030),
        Some(encoding) => Ok(encoding),
        None => Err(IngestError::UnknownEncoding(label.to_owned())),
    }
}

/// A file decoded to UTF-8 on the fly, counting the raw bytes read.
pub(crate) fn open_decoded(
    path: &Path,
    encoding: &'static Encoding,
    bytes_read: Arc<AtomicU64>,
) -> io::Result<impl Read + 'static> {
    let file = File::open(path)?;
    let counted = CountingReader { inner: file, bytes_read };
    // A byte order mark, when present, wins over the chosen encoding and is removed.
    let decoded =
        encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(encoding)).bom_override(true).build(counted);
    Ok(NewlinesToLf::new(decoded))
}

/// Rewrites CRLF and lone CR line ends to LF, so that every file splits into
/// lines the same way and line numbers in messages match what an editor shows.
pub(crate) struct NewlinesToLf<R> {
    inner: R,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// The previous chunk ended in CR: a LF opening the next one belongs to it.
    pending_cr: bool,
}

impl<R: Read> NewlinesToLf<R> {
    pub(crate) fn new(inner: R) -> Self {
        NewlinesToLf { inner, buffer: vec![0; 64 * 1024], start: 0, end: 0, pending_cr: false }
    }
}

impl<R: Read> Read for NewlinesToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.start == self.end {
                self.end = self.inner.read(&mut self.buffer)?;
                self.start = 0;
                if self.end == 0 {
                    return Ok(0);
                }
            }
            let mut written = 0;
            while self.start < self.end && written < out.len() {
                let byte = self.buffer[self.start];
                self.start += 1;
                match byte {
                    b'\n' if self.pending_cr => self.pending_cr = false,
                    b'\r' => {
                        self.pending_cr = true;
                        out[written] = b'\n';
                        written += 1;
                    }
                    other => {
                        self.pending_cr = false;
                        out[written] = other;
                        written += 1;
                    }
                }
            }
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

/// Reads the first bytes of a file.
pub(crate) fn sample(path: &Path) -> io::Result<Vec<u8>> {
    let mut sample = Vec::with_capacity(SAMPLE_BYTES);
    File::open(path)?.take(SAMPLE_BYTES as u64).read_to_end(&mut sample)?;
    Ok(sample)
}

/// Decodes a sample to text with LF line ends, for sniffing.
pub(crate) fn decode_sample(sample: &[u8], encoding: &'static Encoding) -> String {
    let (text, _, _) = encoding.decode(sample);
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Whether the encoding is one of the UTF-16 pair (their samples cut at an
/// odd byte decode a stray replacement character, which means nothing).
pub(crate) fn is_utf16(encoding: &'static Encoding) -> bool {
    encoding == UTF_16LE || encoding == UTF_16BE
}

struct CountingReader<R> {
    inner: R,
    bytes_read: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buffer)?;
        self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_boms_utf8_gb18030_and_big5() {
        assert_eq!(detect(b"\xEF\xBB\xBFa,b"), UTF_8);
        assert_eq!(detect(b"\xFF\xFEa\x00,\x00"), UTF_16LE);
        assert_eq!(detect("地区,人口\n北京,2189\n".as_bytes()), UTF_8);
        let text =
            "地区,国内生产总值,第一产业增加值\n北京市,41610.9,111.5\n上海市,44652.8,96.1\n广东省,129118.6,5540.7\n";
        let (gbk, _, _) = GB18030.encode(text);
        assert_eq!(detect(&gbk), GB18030);
        let traditional =
            "縣市,人口數,土地面積\n臺北市,2602418,271.7997\n新北市,3974911,2052.5667\n臺中市,2774200,2214.8968\n";
        let (big5, _, _) = encoding_rs::BIG5.encode(traditional);
        assert_eq!(detect(&big5), encoding_rs::BIG5);
    }

    #[test]
    fn line_ends_become_lf_even_across_reads() {
        let input: &[u8] = b"a\r\nb\rc\nd\r\r\ne";
        // One byte at a time, so a CRLF is split between two reads.
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let Some((first, rest)) = self.0.split_first() else { return Ok(0) };
                out[0] = *first;
                self.0 = rest;
                Ok(1)
            }
        }
        let mut output = String::new();
        NewlinesToLf::new(OneByte(input)).read_to_string(&mut output).unwrap();
        assert_eq!(output, "a\nb\nc\nd\n\ne");
    }

    #[test]
    fn labels_resolve_and_gbk_means_gb18030() {
        assert_eq!(by_label("GBK").unwrap(), GB18030);
        assert_eq!(by_label("big5").unwrap(), encoding_rs::BIG5);
        assert!(matches!(by_label("klingon"), Err(IngestError::UnknownEncoding(_))));
    }
}
