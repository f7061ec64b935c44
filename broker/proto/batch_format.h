/* Layout of a Kafka record batch, magic 2 (DefaultRecordBatch):
 *
 *   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 |
 *   magic int8 | crc uint32 | attributes int16 | lastOffsetDelta int32 |
 *   baseTimestamp int64 | maxTimestamp int64 | producerId int64 |
 *   producerEpoch int16 | baseSequence int32 | recordCount int32 | records
 *
 * batchLength counts the bytes after itself; the CRC-32C covers attributes
 * to the end, so the broker may patch baseOffset and partitionLeaderEpoch
 * without recomputing it. */
#ifndef SLUICE_BATCH_FORMAT_H
#define SLUICE_BATCH_FORMAT_H

enum {
  RB_OFF_BASE_OFFSET = 0,
  RB_OFF_LENGTH = 8,
  RB_OFF_LEADER_EPOCH = 12,
  RB_OFF_MAGIC = 16,
  RB_OFF_CRC = 17,
  RB_OFF_ATTRIBUTES = 21,
  RB_OFF_LAST_OFFSET_DELTA = 23,
  RB_OFF_BASE_TIMESTAMP = 27,
  RB_OFF_MAX_TIMESTAMP = 35,
  RB_OFF_PRODUCER_ID = 43,
  RB_OFF_PRODUCER_EPOCH = 51,
  RB_OFF_BASE_SEQUENCE = 53,
  RB_OFF_RECORD_COUNT = 57,
  RB_HEADER_BYTES = 61,
  /* baseOffset + batchLength: what precedes the counted bytes. */
  RB_LOG_OVERHEAD = 12,
};

/* attributes bits */
enum {
  RB_ATTR_COMPRESSION_MASK = 0x07,
  RB_ATTR_TIMESTAMP_LOG_APPEND = 0x08,
  RB_ATTR_TRANSACTIONAL = 0x10,
  RB_ATTR_CONTROL = 0x20,
  RB_ATTR_DELETE_HORIZON = 0x40,
};

enum rb_codec {
  RB_CODEC_NONE = 0,
  RB_CODEC_GZIP = 1,
  RB_CODEC_SNAPPY = 2,
  RB_CODEC_LZ4 = 3,
  RB_CODEC_ZSTD = 4
};

#endif
