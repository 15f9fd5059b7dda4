//! The library's handle table, in the kernel's handle format: slot in bits 0..15, type tag in
//! bits 16..23, generation in bits 24..54 (never 0, so no handle is 0), bits 55..63 zero.

use alloc::vec::Vec;

use crate::abi::{ERR_BAD_HANDLE, ERR_NO_SPACE};

pub const TAG_LISTENER: u8 = 16;
pub const TAG_TCP: u8 = 17;
pub const TAG_UDP: u8 = 18;
pub const TAG_DNS: u8 = 19;

const SLOT_BITS: u32 = 16;
const TAG_SHIFT: u32 = 16;
const GEN_SHIFT: u32 = 24;
const GEN_MAX: u32 = (1 << 31) - 1;

/// The type tag of any handle value (the library's or the kernel's).
pub fn tag_of(h: u64) -> u8 {
    (h >> TAG_SHIFT) as u8
}

/// Whether a handle value carries one of the library's tags (the rest belong to the kernel).
pub fn is_library(h: u64) -> bool {
    matches!(tag_of(h), TAG_LISTENER | TAG_TCP | TAG_UDP | TAG_DNS)
}

struct Slot<T> {
    generation: u32,
    tag: u8,
    value: Option<T>,
}

pub struct Table<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u16>,
    cap: usize,
    live: usize,
}

impl<T> Table<T> {
    pub fn new(cap: usize) -> Self {
        assert!(cap >= 1 && cap <= 1 << SLOT_BITS);
        Table { slots: Vec::new(), free: Vec::new(), cap, live: 0 }
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn encode(index: usize, tag: u8, generation: u32) -> u64 {
        (generation as u64) << GEN_SHIFT | (tag as u64) << TAG_SHIFT | index as u64
    }

    pub fn insert(&mut self, tag: u8, value: T) -> Result<u64, i64> {
        let index = if let Some(i) = self.free.pop() {
            i as usize
        } else if self.slots.len() < self.cap {
            self.slots.push(Slot { generation: 1, tag: 0, value: None });
            self.slots.len() - 1
        } else {
            return Err(ERR_NO_SPACE);
        };
        let slot = &mut self.slots[index];
        slot.tag = tag;
        slot.value = Some(value);
        self.live += 1;
        Ok(Self::encode(index, tag, slot.generation))
    }

    fn index(&self, h: u64, tag: Option<u8>) -> Result<usize, i64> {
        if h >> 55 != 0 {
            return Err(ERR_BAD_HANDLE);
        }
        let index = (h & ((1 << SLOT_BITS) - 1)) as usize;
        let generation = (h >> GEN_SHIFT) as u32;
        let t = tag_of(h);
        let slot = self.slots.get(index).ok_or(ERR_BAD_HANDLE)?;
        if slot.value.is_none() || slot.generation != generation || slot.tag != t {
            return Err(ERR_BAD_HANDLE);
        }
        if let Some(want) = tag {
            if want != t {
                return Err(ERR_BAD_HANDLE);
            }
        }
        Ok(index)
    }

    pub fn get(&self, h: u64, tag: Option<u8>) -> Result<&T, i64> {
        let i = self.index(h, tag)?;
        Ok(self.slots[i].value.as_ref().unwrap())
    }

    pub fn get_mut(&mut self, h: u64, tag: Option<u8>) -> Result<&mut T, i64> {
        let i = self.index(h, tag)?;
        Ok(self.slots[i].value.as_mut().unwrap())
    }

    pub fn remove(&mut self, h: u64, tag: Option<u8>) -> Result<T, i64> {
        let i = self.index(h, tag)?;
        let slot = &mut self.slots[i];
        let value = slot.value.take().unwrap();
        // A new generation: the closed handle's value is refused from now on. A slot whose
        // generations are used up is retired rather than reused with an old generation.
        if slot.generation < GEN_MAX {
            slot.generation += 1;
            self.free.push(i as u16);
        }
        self.live -= 1;
        Ok(value)
    }

    /// Every live (handle, value).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (u64, &mut T)> {
        self.slots.iter_mut().enumerate().filter_map(|(i, s)| {
            let h = Self::encode(i, s.tag, s.generation);
            s.value.as_mut().map(|v| (h, v))
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            let h = Self::encode(i, s.tag, s.generation);
            s.value.as_ref().map(|v| (h, v))
        })
    }
}
