// Package vnet reads and writes the virtio-net header (struct
// virtio_net_hdr, 10 bytes) that Linux puts in front of frames on a TAP
// device opened with IFF_VNET_HDR and on an AF_PACKET socket with
// PACKET_VNET_HDR, and maps it to and from link.Buf's Flags and GSOSize.
//
// Layout (little-endian on every host ustack runs on; the TAP device is
// left in its default byte order, which is native):
//
//	off 0  u8   flags        NEEDS_CSUM (1), DATA_VALID (2)
//	off 1  u8   gso_type     NONE 0, TCPV4 1, UDP 3, TCPV6 4, UDP_L4 5, ECN bit 0x80
//	off 2  u16  hdr_len      bytes of headers before the payload (GSO)
//	off 4  u16  gso_size     payload bytes per segment (GSO)
//	off 6  u16  csum_start   where checksumming starts, from the frame start
//	off 8  u16  csum_offset  where the result goes, from csum_start
//
// On receive a frame marked NEEDS_CSUM carries only the pseudo-header sum
// in its checksum field; Complete finishes it in software, so the stack
// always sees correct checksums (and the frame is marked FlagCsumValid).
package vnet
