//! Compressed input files, decompressed by extension as Spark (Hadoop's codecs) does:
//! `.gz`, `.bz2`, `.zst`, `.deflate`/`.zlib` (zlib streams), `.lz4` and `.snappy` (Hadoop's
//! block framing). Every file extract reads its files through [`open`], so a glob may mix
//! compressed and plain files.

use std::io;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncReadExt;
use tokio_util::io::{ReaderStream, StreamReader};
use url::Url;

use crate::storage::{Storage, StorageError};

/// Decompressed bytes of one file.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// A compression codec Spark recognises by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Bzip2,
    Zstd,
    /// Hadoop's `DefaultCodec` (`.deflate`): a zlib stream.
    Zlib,
    /// Hadoop's `Lz4Codec`: blocks of raw LZ4.
    Lz4,
    /// Hadoop's `SnappyCodec`: blocks of raw Snappy.
    Snappy,
}

impl Codec {
    /// The codec of a file name's extension, if any.
    pub fn of(name: &str) -> Option<Codec> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "gz" | "gzip" => Codec::Gzip,
            "bz2" => Codec::Bzip2,
            "zst" | "zstd" => Codec::Zstd,
            "deflate" | "zlib" => Codec::Zlib,
            "lz4" => Codec::Lz4,
            "snappy" => Codec::Snappy,
            _ => return None,
        })
    }
}

/// The decompressed content of the file at `url` (as stored when its name has no codec's
/// extension). Decoding errors name the codec; callers add the file.
pub async fn open(storage: &Storage, url: &Url) -> Result<ByteStream, StorageError> {
    let raw = storage.get(url).await?.into_stream().map_err(io::Error::other).boxed();
    Ok(decode(Codec::of(url.path()), raw))
}

/// The whole decompressed content of the file at `url`.
pub async fn read_all(storage: &Storage, url: &Url) -> Result<Vec<u8>, StorageError> {
    let mut stream = open(storage, url).await?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.map_err(|e| read_error(url, e))?);
    }
    Ok(out)
}

/// Up to `limit` decompressed bytes from the start of the file at `url`.
pub async fn head(storage: &Storage, url: &Url, limit: usize) -> Result<Vec<u8>, StorageError> {
    let mut stream = open(storage, url).await?;
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(chunk) = stream.next().await else { break };
        let chunk = chunk.map_err(|e| read_error(url, e))?;
        out.extend_from_slice(&chunk[..chunk.len().min(limit - out.len())]);
    }
    Ok(out)
}

/// A read or decoding failure of `url`'s content.
fn read_error(url: &Url, e: io::Error) -> StorageError {
    StorageError::Decode { uri: url.to_string(), source: e }
}

fn decode(codec: Option<Codec>, raw: ByteStream) -> ByteStream {
    use async_compression::tokio::bufread::{BzDecoder, GzipDecoder, ZlibDecoder, ZstdDecoder};
    const CHUNK: usize = 256 << 10;
    let reader = StreamReader::new(raw);
    let named = |codec: &'static str| move |e: io::Error| io::Error::new(e.kind(), format!("{codec} decoding: {e}"));
    match codec {
        None => ReaderStream::with_capacity(reader, CHUNK).boxed(),
        Some(Codec::Gzip) => {
            let mut d = GzipDecoder::new(reader);
            d.multiple_members(true);
            ReaderStream::with_capacity(d, CHUNK).map_err(named("gzip")).boxed()
        }
        Some(Codec::Bzip2) => {
            let mut d = BzDecoder::new(reader);
            d.multiple_members(true);
            ReaderStream::with_capacity(d, CHUNK).map_err(named("bzip2")).boxed()
        }
        Some(Codec::Zstd) => {
            let mut d = ZstdDecoder::new(reader);
            d.multiple_members(true);
            ReaderStream::with_capacity(d, CHUNK).map_err(named("zstd")).boxed()
        }
        Some(Codec::Zlib) => {
            let mut d = ZlibDecoder::new(reader);
            d.multiple_members(true);
            ReaderStream::with_capacity(d, CHUNK).map_err(named("zlib")).boxed()
        }
        Some(block @ (Codec::Lz4 | Codec::Snappy)) => hadoop_blocks(reader, block),
    }
}

/// Hadoop's `BlockCompressorStream` framing: per block, the uncompressed length (4 bytes, big
/// endian), then compressed chunks (length, bytes) until that many bytes are decoded.
fn hadoop_blocks(reader: StreamReader<ByteStream, Bytes>, codec: Codec) -> ByteStream {
    /// Hadoop's buffers are 64–256 KiB; anything far larger is not this framing.
    const MAX_BLOCK: usize = 1 << 30;
    let name = if codec == Codec::Lz4 { "lz4" } else { "snappy" };
    let bad = move |what: String| io::Error::new(io::ErrorKind::InvalidData, format!("{name} decoding: {what}"));
    futures::stream::try_unfold(reader, move |mut r| async move {
        let mut len = [0u8; 4];
        match r.read(&mut len[..1]).await? {
            0 => return Ok(None),
            _ => r.read_exact(&mut len[1..]).await?,
        };
        let original = u32::from_be_bytes(len) as usize;
        if original > MAX_BLOCK {
            return Err(bad(format!("a block of {original} bytes (not Hadoop's {name} framing?)")));
        }
        let mut out = Vec::with_capacity(original);
        while out.len() < original {
            r.read_exact(&mut len).await?;
            let compressed = u32::from_be_bytes(len) as usize;
            if compressed > MAX_BLOCK {
                return Err(bad(format!("a chunk of {compressed} bytes (not Hadoop's {name} framing?)")));
            }
            let mut chunk = vec![0; compressed];
            r.read_exact(&mut chunk).await?;
            let part = match codec {
                Codec::Lz4 => lz4_flex::block::decompress(&chunk, original - out.len()).map_err(|e| bad(e.to_string())),
                _ => snap::raw::Decoder::new().decompress_vec(&chunk).map_err(|e| bad(e.to_string())),
            }?;
            out.extend_from_slice(&part);
        }
        Ok(Some((Bytes::from(out), r)))
    })
    .try_filter(|b| futures::future::ready(!b.is_empty()))
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn decoded(codec: Option<Codec>, bytes: Vec<u8>) -> io::Result<Vec<u8>> {
        // Split into small chunks, as an object store streams them.
        let chunks: Vec<io::Result<Bytes>> = bytes.chunks(7).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let mut stream = decode(codec, futures::stream::iter(chunks).boxed());
        let mut out = Vec::new();
        while let Some(c) = stream.next().await {
            out.extend_from_slice(&c?);
        }
        Ok(out)
    }

    fn hadoop_frame(blocks: &[&[u8]], compress: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
        let mut out = Vec::new();
        for block in blocks {
            out.extend_from_slice(&(block.len() as u32).to_be_bytes());
            // Two chunks per block, as Hadoop writes when a block exceeds its buffer.
            let (a, b) = block.split_at(block.len() / 2);
            for part in [a, b] {
                let c = compress(part);
                out.extend_from_slice(&(c.len() as u32).to_be_bytes());
                out.extend_from_slice(&c);
            }
        }
        out
    }

    #[test]
    fn codecs_by_extension() {
        assert_eq!(Codec::of("/d/a.csv.gz"), Some(Codec::Gzip));
        assert_eq!(Codec::of("a.CSV.BZ2"), Some(Codec::Bzip2));
        assert_eq!(Codec::of("a.json.zst"), Some(Codec::Zstd));
        assert_eq!(Codec::of("part-0.deflate"), Some(Codec::Zlib));
        assert_eq!(Codec::of("part-0.lz4"), Some(Codec::Lz4));
        assert_eq!(Codec::of("part-0.snappy"), Some(Codec::Snappy));
        assert_eq!(Codec::of("a.csv"), None);
        assert_eq!(Codec::of("noext"), None);
    }

    async fn encoded(codec: Codec, bytes: &[u8]) -> Vec<u8> {
        use async_compression::tokio::bufread::{BzEncoder, GzipEncoder, ZlibEncoder, ZstdEncoder};
        let mut out = Vec::new();
        match codec {
            Codec::Gzip => GzipEncoder::new(bytes).read_to_end(&mut out).await,
            Codec::Bzip2 => BzEncoder::new(bytes).read_to_end(&mut out).await,
            Codec::Zstd => ZstdEncoder::new(bytes).read_to_end(&mut out).await,
            Codec::Zlib => ZlibEncoder::new(bytes).read_to_end(&mut out).await,
            Codec::Lz4 | Codec::Snappy => unreachable!("Hadoop framing: see hadoop_frame"),
        }
        .expect("encode");
        out
    }

    #[tokio::test]
    async fn every_codec_round_trips() {
        let text = b"id,name\n1,alpha\n2,beta\n".repeat(50);
        for codec in [Codec::Gzip, Codec::Bzip2, Codec::Zstd, Codec::Zlib] {
            // Two members/frames back to back, as concatenated files (and bgzip) have them.
            let mut two = encoded(codec, &text[..300]).await;
            two.extend(encoded(codec, &text[300..]).await);
            assert_eq!(decoded(Some(codec), two).await.unwrap(), text, "{codec:?}");
        }

        let lz4 = hadoop_frame(&[&text[..500], &text[500..]], lz4_flex::block::compress);
        assert_eq!(decoded(Some(Codec::Lz4), lz4).await.unwrap(), text);
        let snappy = hadoop_frame(&[&text[..], b"x"], |b: &[u8]| snap::raw::Encoder::new().compress_vec(b).unwrap());
        let mut with_x = text.clone();
        with_x.push(b'x');
        assert_eq!(decoded(Some(Codec::Snappy), snappy).await.unwrap(), with_x);

        assert_eq!(decoded(None, text.clone()).await.unwrap(), text);
    }

    #[tokio::test]
    async fn corrupt_input_names_the_codec() {
        let err = decoded(Some(Codec::Gzip), b"not gzip at all".to_vec()).await.unwrap_err();
        assert!(err.to_string().contains("gzip"), "{err}");
        let err = decoded(Some(Codec::Snappy), vec![0xff, 0xff, 0xff, 0xff, 1]).await.unwrap_err();
        assert!(err.to_string().contains("snappy"), "{err}");
    }
}
