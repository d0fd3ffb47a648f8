//! Persistent storage on NOR flash: a key-value map (threshold overrides, accounts, settings)
//! and a record queue (the SEL), both with minicbor-encoded values, both in sequential-storage.
//!
//! Load-bearing choices:
//! - **Power-loss safety comes from sequential-storage** (CRC per item, page states, automatic
//!   repair), provided the flash keeps NOR rules; every flash in this crate enforces them
//!   ([`nor`]). `tests/power_loss.rs` cuts power inside writes and erases thousands of times.
//! - **The map and the queue each get their own flash region** (two [`NorFlash`] values) so
//!   neither can corrupt or garbage-collect the other and each can be sized alone.
//! - **A format record** under [`StoreKey::FORMAT`] is written at first mount and checked at
//!   every mount. A store written by another format is refused with
//!   [`StoreError::FormatMismatch`] instead of being misread; [`Store::format`] is the explicit,
//!   destructive way out. sequential-storage's own layout is pinned in Cargo.toml for the same
//!   reason: its on-flash format changes with every major release.
//! - **Cancellation:** sequential-storage repairs a half-done operation on the next call, but the
//!   interrupted operation itself may or may not have happened. Never drop a write future
//!   ([`Store::set`], [`Store::remove`], [`Store::push`], [`Store::format`]) midway, e.g. in a
//!   `select` with a timeout: run writes to completion on one task. Reads may be dropped.
//! - Values are decoded by the caller's type; bytes that do not decode are an error value
//!   ([`StoreError::Decode`]), never a panic, because flash contents are untrusted input.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

use core::ops::Range;

use embedded_storage_async::nor_flash::{MultiwriteNorFlash, NorFlash};
use minicbor::encode::write::Cursor;
use minicbor::{Decode, Encode};
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{Key, MapConfig, MapStorage, SerializationError, Value};
use sequential_storage::queue::{QueueConfig, QueueStorage};

pub mod nor;
mod ram;

#[cfg(any(test, feature = "fault-injection"))]
mod fault;
#[cfg(any(test, feature = "std"))]
mod file;

#[cfg(any(test, feature = "fault-injection"))]
pub use fault::{FaultFlash, PowerRail};
#[cfg(any(test, feature = "std"))]
pub use file::FileFlash;
pub use nor::FlashError;
pub use ram::RamFlash;

/// The store's schema version, kept in the map under [`StoreKey::FORMAT`]. Bump it when the
/// meaning of a key or the encoding of a value changes incompatibly, or when sequential-storage
/// moves to a new major version (its layout changes then), and teach [`Store::mount`] to migrate
/// from the old value or to refuse it.
pub const FORMAT_VERSION: u16 = 1;

/// The sequential-storage major version whose on-flash layout this build reads and writes;
/// recorded next to [`FORMAT_VERSION`] so an image can tell which layout wrote the store.
pub const ENGINE_MAJOR: u16 = 8;

/// Largest encoded value (map) or record (queue), plus key and alignment. Bounded because the
/// store works in one fixed buffer: no allocation, and a corrupt length on flash cannot make it
/// read more than this.
pub const MAX_VALUE_LEN: usize = 240;
const BUF_LEN: usize = 256;

type NoCache<K> = Cache<Uncached, Uncached, Uncached, K>;

/// A map key. Keys are 16 bits split into namespaces so that adding a setting can never collide
/// with a sensor's override; the constructors are the only way to build one. Keys of the
/// per-sensor namespace also carry a 32-bit tag of the sensor's board key, so a sensor's
/// settings are found by its identity, not by its place in the board file.
///
/// On flash a key is its 16 bits, little-endian (sequential-storage's own `u16` layout, which
/// is all a store written before the per-sensor namespace holds), then, in the per-sensor
/// namespace only, the tag, little-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoreKey {
    id: u16,
    tag: u32,
}

impl StoreKey {
    /// The format record (see [`FORMAT_VERSION`]).
    pub const FORMAT: Self = Self::id(0x0000);
    /// The SEL's persistent state (overflow flag, ...), owned by the SEL crate.
    pub const SEL_STATE: Self = Self::id(0x0100);
    /// Where the SEL kept what it last knew of its queue (newest RecordID, record count) in
    /// issue 20's first version; the mark now lives in [`StoreKey::SEL_STATE`]. Reserved: a
    /// store written by that version may still hold it, and nothing reads it.
    pub const SEL_MARK: Self = Self::id(0x0101);

    const SETTING: u16 = 0x1000;
    const ACCOUNT: u16 = 0x2000;
    /// WS-Eventing subscriptions (issue 16): slot in bits 6..10, chunk in bits 0..6.
    const SUBSCRIPTION: u16 = 0x3000;
    /// Per-sensor settings, named by the sensor's board key (issue 18).
    const SENSOR: u16 = 0x4000;
    /// The user names of Session Audit SEL records (issue 15), one slot per RecordID modulo
    /// the slot count: a 16-byte SEL record has no room for a name.
    const AUDIT_NAME: u16 = 0x5000;
    const THRESHOLD: u16 = 0x8000;

    const fn id(id: u16) -> Self {
        Self { id, tag: 0 }
    }

    /// Setting number `n` (BMC network, poll rates, ...); numbers are assigned by the agent.
    pub const fn setting(n: u8) -> Self {
        Self::id(Self::SETTING | n as u16)
    }

    /// User account slot `slot`.
    pub const fn account(slot: u8) -> Self {
        Self::id(Self::ACCOUNT | slot as u16)
    }

    /// Chunk `chunk` (below 64) of WS-Eventing subscription slot `slot` (below 16): a
    /// subscription record is larger than one value ([`MAX_VALUE_LEN`]), so it is kept in
    /// chunks; `None` past the namespace.
    pub const fn subscription(slot: u8, chunk: u8) -> Option<Self> {
        if slot < 16 && chunk < 64 {
            Some(Self::id(
                Self::SUBSCRIPTION | (slot as u16) << 6 | chunk as u16,
            ))
        } else {
            None
        }
    }

    /// Slot `slot` (below 256) of the Session Audit name table (issue 15). The slot says
    /// nothing by itself: the value holds the whole SEL record it names, so a slot reused by a
    /// later record, or a record ID reused after a clear, never lends its name to another.
    pub const fn audit_name(slot: u8) -> Self {
        Self::id(Self::AUDIT_NAME | slot as u16)
    }

    /// Pending Session Audit event `n` (issue 15): an account change `wsbmc user` made on a
    /// stopped agent, which the agent moves into the SEL when it starts. Right after the audit
    /// name slots in the same namespace.
    pub const fn audit_pending(n: u8) -> Self {
        Self::id(Self::AUDIT_NAME | 0x0100 | n as u16)
    }

    /// A console's threshold overrides for the sensor whose board key is `key`.
    ///
    /// Keyed by the sensor's identity, never by its place in the board file, so editing the
    /// board cannot move an override to a neighbour. The key is carried as its FNV-1a hash: the
    /// whole key would make every map key 30-odd bytes, which the bare-metal image's flash
    /// cannot afford, and two of a board's keys share a hash with a chance of about one in
    /// a million even for a hundred sensors (the shipped boards are checked to be distinct by
    /// the Linux binary's tests).
    pub fn sensor(key: &str) -> Self {
        Self {
            id: Self::SENSOR,
            tag: key_hash(key),
        }
    }

    /// Where firmware before issue 18 kept a console's threshold overrides: by the sensor's
    /// index in the board's sensor table, which moves when the board file changes. Only read
    /// to drop what is left there (see the agent); `None` past the namespace.
    pub const fn threshold_override(sensor: u16) -> Option<Self> {
        if sensor < Self::THRESHOLD {
            Some(Self::id(Self::THRESHOLD | sensor))
        } else {
            None
        }
    }

    /// The 16-bit part of the key (its namespace and number), for logs.
    pub const fn raw(self) -> u16 {
        self.id
    }
}

/// FNV-1a (32 bits) of `key`: stable across builds and platforms, which it must be, since it is
/// on flash.
fn key_hash(key: &str) -> u32 {
    key.bytes().fold(0x811C_9DC5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

impl Key for StoreKey {
    fn serialize_into(&self, buffer: &mut [u8]) -> Result<usize, SerializationError> {
        let n = <u16 as Key>::serialize_into(&self.id, buffer)?;
        if self.id != Self::SENSOR {
            return Ok(n);
        }
        let rest = buffer
            .get_mut(n..)
            .ok_or(SerializationError::BufferTooSmall)?;
        Ok(n + <u32 as Key>::serialize_into(&self.tag, rest)?)
    }

    fn deserialize_from(buffer: &[u8]) -> Result<(Self, usize), SerializationError> {
        let (id, n) = <u16 as Key>::deserialize_from(buffer)?;
        if id != Self::SENSOR {
            return Ok((Self::id(id), n));
        }
        let rest = buffer.get(n..).ok_or(SerializationError::InvalidFormat)?;
        let (tag, m) = <u32 as Key>::deserialize_from(rest)?;
        Ok((Self { id, tag }, n + m))
    }
}

/// What went wrong, with the flash's own error type `E`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError<E> {
    /// The flash reported an error.
    Flash(E),
    /// The region is full even after reclaiming space (map), or the oldest queued records are
    /// still live and overwriting was not allowed (queue).
    Full,
    /// sequential-storage found damage it could not repair. The data in the region is suspect;
    /// [`Store::format`] recovers the region at the cost of its contents.
    Corrupted,
    /// A value or record encodes to more than [`MAX_VALUE_LEN`] bytes or more than a page.
    TooBig,
    /// The bytes stored under `key` (or in a queued record, `key: None`) do not decode as the
    /// requested type: a stale schema or damage the CRCs did not catch.
    Decode { key: Option<StoreKey> },
    /// The store was written with another format; `found` is its version, `supported` ours.
    FormatMismatch { found: u16, supported: u16 },
    /// The map holds data but no format record: not a wsbmc store, or one written before the
    /// format record existed. Refused so that foreign data is never misread as ours.
    Unversioned,
    /// A flash region's size or page geometry cannot hold a map or queue.
    Geometry,
    /// sequential-storage reported a logic error (a bug there or here).
    Internal,
}

impl<E: core::fmt::Debug> core::fmt::Display for StoreError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StoreError::Flash(e) => write!(f, "flash error: {e:?}"),
            StoreError::Full => f.write_str("store is full"),
            StoreError::Corrupted => f.write_str("store is corrupted beyond repair"),
            StoreError::TooBig => f.write_str("value too big for the store"),
            StoreError::Decode { key: Some(k) } => {
                write!(f, "value under key {:#06x} does not decode", k.id)
            }
            StoreError::Decode { key: None } => f.write_str("queued record does not decode"),
            StoreError::FormatMismatch { found, supported } => write!(
                f,
                "store format {found} is not supported (this firmware reads format {supported}); \
                 format the store to reuse it"
            ),
            StoreError::Unversioned => {
                f.write_str("flash holds data without a wsbmc format record; refusing to mount")
            }
            StoreError::Geometry => f.write_str("flash region too small or badly aligned"),
            StoreError::Internal => f.write_str("storage engine logic error"),
        }
    }
}

impl<E> From<sequential_storage::Error<E>> for StoreError<E> {
    fn from(e: sequential_storage::Error<E>) -> Self {
        use sequential_storage::Error as S;
        match e {
            S::Storage { value, .. } => StoreError::Flash(value),
            S::FullStorage => StoreError::Full,
            S::Corrupted { .. } => StoreError::Corrupted,
            S::BufferTooBig | S::BufferTooSmall(_) | S::ItemTooBig => StoreError::TooBig,
            S::SerializationError(SerializationError::BufferTooSmall) => StoreError::TooBig,
            S::SerializationError(_) => StoreError::Decode { key: None },
            _ => StoreError::Internal,
        }
    }
}

/// The format record. An array with numbered fields so that later versions can add fields
/// that this one skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
struct Format {
    #[n(0)]
    version: u16,
    #[n(1)]
    engine_major: u16,
}

/// This build's format record.
const FORMAT: Format = Format {
    version: FORMAT_VERSION,
    engine_major: ENGINE_MAJOR,
};

/// A value on its way into the map: encodes with minicbor straight into sequential-storage's
/// buffer, through a trait object so that every value type shares one store path (each type
/// had its own copy of the write's future and of sequential-storage's `store_item`, ~0.6 KiB of
/// the bare-metal image's flash per type). Reads go through `&[u8]` and are decoded by
/// [`Store::get`], so decode errors carry the key.
struct Encoded<'t>(&'t (dyn EncodeInto + Sync));

/// [`encode_into`] as an object-safe trait (minicbor's `Encode` is generic over the writer).
trait EncodeInto {
    fn encode_into(&self, buf: &mut [u8]) -> Option<usize>;
}

impl<T: Encode<()>> EncodeInto for T {
    fn encode_into(&self, buf: &mut [u8]) -> Option<usize> {
        encode_into(self, buf)
    }
}

impl<'a> Value<'a> for Encoded<'_> {
    fn serialize_into(&self, buffer: &mut [u8]) -> Result<usize, SerializationError> {
        let limit = buffer.len().min(MAX_VALUE_LEN);
        self.0
            .encode_into(&mut buffer[..limit])
            .ok_or(SerializationError::BufferTooSmall)
    }

    fn deserialize_from(_buffer: &'a [u8]) -> Result<(Self, usize), SerializationError> {
        // Never fetched as this type; see `Store::get`.
        Err(SerializationError::InvalidFormat)
    }
}

/// Encodes `value` into `buf`, returning the length, or `None` if it does not fit.
fn encode_into<T: Encode<()>>(value: &T, buf: &mut [u8]) -> Option<usize> {
    let mut cursor = Cursor::new(buf);
    minicbor::encode(value, &mut cursor).ok()?;
    Some(cursor.position())
}

/// The whole flash range of a region, rounded down to whole pages.
fn region<F: NorFlash>(flash: &F) -> Result<Range<u32>, ()> {
    let pages = flash.capacity().checked_div(F::ERASE_SIZE).ok_or(())?;
    let end = pages
        .checked_mul(F::ERASE_SIZE)
        .and_then(|b| u32::try_from(b).ok())
        .ok_or(())?;
    Ok(0..end)
}

/// How sequential-storage reads a page's markers: a marker is set when at least half the bits of
/// its first byte are zero. The start marker is the page's first byte, the end marker its last.
async fn page_markers<F: NorFlash>(
    flash: &mut F,
    start: u32,
) -> Result<(bool, bool), StoreError<F::Error>> {
    let set = |b: u8| b.count_zeros() >= 4;
    let mut first = [0u8; 1];
    let mut last = [0u8; 1];
    flash
        .read(start, &mut first)
        .await
        .map_err(StoreError::Flash)?;
    flash
        .read(start + F::ERASE_SIZE as u32 - 1, &mut last)
        .await
        .map_err(StoreError::Flash)?;
    Ok((set(first[0]), set(last[0])))
}

/// Finishes erases that a power cut interrupted, before sequential-storage sees them.
///
/// sequential-storage recognises an interrupted erase only when it ran front to back (start
/// marker erased, end marker not). A NOR erase cut short can leave any mix of erased and
/// unerased cells, which reads as one of the other page states over leftover bytes:
/// - both markers unset ("open") over data: sequential-storage writes into an open page without
///   erasing it, so records would be programmed over stale bits. An open page holds no data by
///   definition, so it is erased again. Applies to both regions.
/// - start set, end unset ("partially open") right after the page that really is partially
///   open: with two partially open pages sequential-storage takes the wrong one for the newest,
///   so the queue lists out of order and the map misses keys. Both structures only ever erase
///   the page after the partially open one (the queue to make room, the map after moving that
///   page's live items into the current page), and both close a page before opening the next,
///   so of two adjacent partially open pages the second is the interrupted erase. Its contents
///   were already given up (queue) or copied (map), so it is erased again.
///
/// Found by `wsbmc-sel`'s power-loss test, whose torn erases leave cells in random states
/// rather than erasing front to back as sequential-storage's own test flash does.
///
/// Costs reading two bytes per page, and one read of each open page, per mount.
async fn finish_torn_erases<F: NorFlash>(
    flash: &mut F,
    range: Range<u32>,
) -> Result<(), StoreError<F::Error>> {
    let page = F::ERASE_SIZE as u32;
    let pages = (range.end - range.start) / page;
    let address = |i: u32| range.start + (i % pages) * page;
    for i in 0..pages {
        let (start_set, end_set) = page_markers(flash, address(i)).await?;
        if start_set || end_set {
            continue;
        }
        // An open page over data is erased again; the check is written here rather than as an
        // async function of its own, whose future nested in this one cost more flash.
        let (start, end) = (address(i), address(i) + page);
        let mut chunk = [0u8; 64];
        let mut at = start;
        while at < end {
            let n = chunk.len().min((end - at) as usize);
            flash
                .read(at, &mut chunk[..n])
                .await
                .map_err(StoreError::Flash)?;
            if chunk[..n].iter().any(|b| *b != 0xFF) {
                flash.erase(start, end).await.map_err(StoreError::Flash)?;
                break;
            }
            at += n as u32;
        }
    }
    if pages > 1 {
        for i in 0..pages {
            let this = page_markers(flash, address(i)).await?;
            let next = page_markers(flash, address(i + 1)).await?;
            if this == (true, false) && next == (true, false) {
                let at = address(i + 1);
                flash
                    .erase(at, at + page)
                    .await
                    .map_err(StoreError::Flash)?;
            }
        }
    }
    Ok(())
}

/// The store: one map region and one queue region.
pub struct Store<F: MultiwriteNorFlash> {
    map: MapStorage<StoreKey, F, NoCache<StoreKey>>,
    queue: QueueStorage<F, NoCache<()>>,
    buf: [u8; BUF_LEN],
    /// The map is blank and its format record still to be written, before its first item
    /// ([`Store::blank`]).
    format_due: bool,
}

impl<F: MultiwriteNorFlash> Store<F> {
    fn open(map_flash: F, queue_flash: F) -> Result<Self, StoreError<F::Error>> {
        let map_range = region(&map_flash).map_err(|()| StoreError::Geometry)?;
        let queue_range = region(&queue_flash).map_err(|()| StoreError::Geometry)?;
        // The map needs two pages: one to move live items into while the oldest is reclaimed.
        if map_range.len() < 2 * F::ERASE_SIZE {
            return Err(StoreError::Geometry);
        }
        let map_config = MapConfig::try_new(map_range).map_err(|_| StoreError::Geometry)?;
        let queue_config = QueueConfig::try_new(queue_range).map_err(|_| StoreError::Geometry)?;
        Ok(Self {
            map: MapStorage::new(map_flash, map_config, Cache::new_uncached()),
            queue: QueueStorage::new(queue_flash, queue_config, Cache::new_uncached()),
            buf: [0; BUF_LEN],
            format_due: false,
        })
    }

    /// Mounts a store: checks the format record, or writes it if both regions are blank (first
    /// boot, or a first boot cut short before the record was complete). Repairs whatever a
    /// power cut left half done.
    pub async fn mount(map_flash: F, queue_flash: F) -> Result<Self, StoreError<F::Error>> {
        let mut store = Self::open(map_flash, queue_flash)?;
        let range = store.map.flash_range();
        finish_torn_erases(store.map.flash(), range).await?;
        let range = store.queue.flash_range();
        finish_torn_erases(store.queue.flash(), range).await?;
        let found = store
            .map
            .fetch_item::<&[u8]>(&mut store.buf, &StoreKey::FORMAT)
            .await?;
        let found = match found {
            Some(bytes) => {
                Some(
                    minicbor::decode::<Format>(bytes).map_err(|_| StoreError::Decode {
                        key: Some(StoreKey::FORMAT),
                    })?,
                )
            }
            None => None,
        };
        match found {
            Some(f) if f.version == FORMAT_VERSION && f.engine_major == ENGINE_MAJOR => Ok(store),
            Some(f) => Err(StoreError::FormatMismatch {
                found: f.version,
                supported: FORMAT_VERSION,
            }),
            // Blank regions (first boot, or one cut short before the record was complete) get
            // the record; anything else without it is refused. Checked here rather than in a
            // function of its own: its future nested in this one cost the image's flash more.
            None => {
                let mut items = store.map.fetch_all_items(&mut store.buf).await?;
                if items.next::<&[u8]>(&mut store.buf).await?.is_some() {
                    return Err(StoreError::Unversioned);
                }
                let mut queued = store.queue.iter().await?;
                if queued.next(&mut store.buf).await?.is_some() {
                    return Err(StoreError::Unversioned);
                }
                store.write_format().await?;
                Ok(store)
            }
        }
    }

    /// Erases both regions and writes a fresh format record: the explicit answer to
    /// [`StoreError::FormatMismatch`], [`StoreError::Unversioned`] and
    /// [`StoreError::Corrupted`]. Everything stored is lost. A cut during it leaves a store that
    /// either mounts blank or is refused and must be formatted again, never a mix.
    pub async fn format(map_flash: F, queue_flash: F) -> Result<Self, StoreError<F::Error>> {
        let mut store = Self::open(map_flash, queue_flash)?;
        // The map goes first: until it is blank again, a half-erased queue sits next to a map
        // that still has items and no format record is rewritten, so mount keeps refusing.
        store.map.erase_all().await?;
        store.queue.erase_all().await?;
        store.write_format().await?;
        Ok(store)
    }

    /// A store on regions known to be erased (every byte 0xFF) that will not be mounted again,
    /// as a board whose store is RAM has them at every start: nothing is erased, checked or
    /// written. The format record goes in just before the map's first item, so the map is what
    /// [`Store::format`] and the same writes leave; a board that never writes the map (the
    /// bare-metal image, whose map nothing would read) links none of the map's writing. Queue
    /// records alone do not write it: regions holding only those would be refused by a mount
    /// as unversioned, which a store gone at the next start never meets. Regions that may hold
    /// anything else need [`Store::mount`] or [`Store::format`].
    pub async fn blank(map_flash: F, queue_flash: F) -> Result<Self, StoreError<F::Error>> {
        let mut store = Self::open(map_flash, queue_flash)?;
        store.format_due = true;
        Ok(store)
    }

    /// The format record's write: [`Store::set`]'s future itself (a constant value), with no
    /// future of its own around it.
    fn write_format(&mut self) -> impl Future<Output = Result<(), StoreError<F::Error>>> + '_ {
        self.set(StoreKey::FORMAT, &FORMAT)
    }

    /// The value stored under `key`, decoded as `T`, or `None` if there is none.
    pub async fn get<T>(&mut self, key: StoreKey) -> Result<Option<T>, StoreError<F::Error>>
    where
        T: for<'b> Decode<'b, ()>,
    {
        let Some(bytes) = self.map.fetch_item::<&[u8]>(&mut self.buf, &key).await? else {
            return Ok(None);
        };
        minicbor::decode(bytes)
            .map(Some)
            .map_err(|_| StoreError::Decode { key: Some(key) })
    }

    /// Calls `f` with the raw bytes stored under `key` and returns its result, or `None` if
    /// nothing is stored there: for values the caller decodes borrowing from the bytes (a
    /// name to compare), which [`Store::get`] cannot.
    pub async fn read<R>(
        &mut self,
        key: StoreKey,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, StoreError<F::Error>> {
        Ok(self
            .map
            .fetch_item::<&[u8]>(&mut self.buf, &key)
            .await?
            .map(f))
    }

    /// Whether anything is stored under `key`, without decoding it.
    pub async fn contains(&mut self, key: StoreKey) -> Result<bool, StoreError<F::Error>> {
        self.read(key, |_| ()).await.map(|found| found.is_some())
    }

    /// Stores `value` under `key`. When this returns `Ok` the value is on flash; a power cut
    /// before then leaves either the old value or the new one. Do not drop the future midway.
    ///
    /// Not an `async fn`: it hands back the one shared write's future itself, so no per-type
    /// future wraps it (a wrapper cost the bare-metal image's log task 32 B of static RAM).
    pub fn set<'s, T: Encode<()> + Sync>(
        &'s mut self,
        key: StoreKey,
        value: &'s T,
    ) -> impl Future<Output = Result<(), StoreError<F::Error>>> + 's {
        self.store(key, value)
    }

    /// [`Store::set`]'s write, once for every value type.
    async fn store(
        &mut self,
        key: StoreKey,
        value: &(dyn EncodeInto + Sync),
    ) -> Result<(), StoreError<F::Error>> {
        if self.format_due {
            self.map
                .store_item(&mut self.buf, &StoreKey::FORMAT, &Encoded(&FORMAT))
                .await?;
            self.format_due = false;
        }
        self.map
            .store_item(&mut self.buf, &key, &Encoded(value))
            .await
            .map_err(StoreError::from)
    }

    /// Removes `key`. Like [`Store::set`], atomic under power loss; do not drop it midway.
    pub async fn remove(&mut self, key: StoreKey) -> Result<(), StoreError<F::Error>> {
        self.map
            .remove_item(&mut self.buf, &key)
            .await
            .map_err(StoreError::from)
    }

    /// Appends `record` to the queue. With `overwrite_oldest` a full queue drops its oldest page
    /// of records to make room; without it a full queue answers [`StoreError::Full`]. When this
    /// returns `Ok` the record is on flash; a cut before then leaves it absent or complete,
    /// never damaged. Do not drop the future midway.
    pub async fn push<T: Encode<()>>(
        &mut self,
        record: &T,
        overwrite_oldest: bool,
    ) -> Result<(), StoreError<F::Error>> {
        let len = encode_into(record, &mut self.buf[..MAX_VALUE_LEN]).ok_or(StoreError::TooBig)?;
        self.queue
            .push(&self.buf[..len], overwrite_oldest)
            .await
            .map_err(StoreError::from)
    }

    /// Calls `f` with each queued record's bytes, oldest first. Records a power cut left
    /// incomplete fail their CRC and are skipped by sequential-storage, so `f` only ever sees
    /// whole records; decoding them (and deciding what a record that does not decode means) is
    /// the caller's job.
    pub async fn for_each_queued(
        &mut self,
        mut f: impl FnMut(&[u8]),
    ) -> Result<(), StoreError<F::Error>> {
        let mut it = self.queue.iter().await?;
        while let Some(entry) = it.next(&mut self.buf).await? {
            f(&entry);
        }
        Ok(())
    }

    /// Erases the queue region and nothing else: the way back from a queue [`Store::for_each_queued`]
    /// found [`StoreError::Corrupted`], when the map (settings, the account) is still good.
    pub async fn erase_queue(&mut self) -> Result<(), StoreError<F::Error>> {
        self.queue.erase_all().await.map_err(StoreError::from)
    }

    /// How many records of at most `record_len` encoded bytes the queue is guaranteed to keep
    /// when it overwrites: all pages but one hold the newest records when the oldest page is
    /// erased to make room. One further page is held back as slack for records that power cuts
    /// tore (a torn record still takes its space until its page is reused). A log sized within
    /// this never loses a record it still counts to a wrap.
    pub fn queue_guaranteed_records(&self, record_len: usize) -> usize {
        let word = F::WRITE_SIZE.max(F::READ_SIZE);
        let item = 8usize.next_multiple_of(word) + record_len.next_multiple_of(word);
        let usable = F::ERASE_SIZE.saturating_sub(2 * word);
        let per_page = usable.checked_div(item).unwrap_or(0);
        let pages = self.queue.flash_range().len() / F::ERASE_SIZE;
        pages.saturating_sub(2) * per_page
    }

    /// Gives the flash regions back (map, queue), e.g. to reformat after an error.
    pub fn into_flash(self) -> (F, F) {
        let (map, _) = self.map.destroy();
        let (queue, _) = self.queue.destroy();
        (map, queue)
    }
}

#[cfg(test)]
mod tests;
