use super::*;

const BYTES: [u8; 10] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xff, 0xfe];

#[test]
fn integers_read_in_the_order_chosen() {
    let little = ByteFields::new(&BYTES, ByteOrder::Little);
    let big = ByteFields::new(&BYTES, ByteOrder::Big);
    assert_eq!(little.u16(0), Some(0x0201));
    assert_eq!(big.u16(0), Some(0x0102));
    assert_eq!(little.u32(1), Some(0x0504_0302));
    assert_eq!(big.u32(1), Some(0x0203_0405));
    assert_eq!(little.u64(0), Some(0x0807_0605_0403_0201));
    assert_eq!(big.u64(2), Some(0x0304_0506_0708_fffe));
}

#[test]
fn native_order_is_the_machines() {
    let fields = ByteFields::native(&BYTES);
    assert_eq!(fields.u32(0), Some(u32::from_ne_bytes([1, 2, 3, 4])));
    assert_eq!(
        fields.u64(1),
        Some(u64::from_ne_bytes([2, 3, 4, 5, 6, 7, 8, 0xff]))
    );
}

#[test]
fn a_field_past_the_end_reads_as_none() {
    let fields = ByteFields::native(&BYTES);
    assert_eq!(fields.u16(8), Some(u16::from_ne_bytes([0xff, 0xfe])));
    assert_eq!(fields.u16(9), None);
    assert_eq!(fields.u32(7), None);
    assert_eq!(fields.u64(3), None);
    assert_eq!(fields.u64(usize::MAX), None);
    assert_eq!(fields.bytes(usize::MAX, 2), None);
    assert_eq!(fields.bytes(8, 3), None);
    assert_eq!(fields.bytes(10, 0), Some(&[][..]));
    assert_eq!(fields.bytes(11, 0), None);
    assert_eq!(fields.array::<2>(4), Some([0x05, 0x06]));
    assert_eq!(ByteFields::native(&[]).u16(0), None);
}
