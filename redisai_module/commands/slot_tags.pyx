# Cluster slots for the ids of asynchronous DAGs: an id carries a hash tag of its DAG's slot, so
# that a cluster client routes AI.DAGRUNINFO <id> to the shard that ran it. The slot is Redis
# Cluster's (CRC16/XMODEM of the key, or of its {hash tag}, mod 16384); the tag is the shortest
# string of [0-9a-z] in that slot, from a table built on first use.
from libc.stdint cimport uint16_t
from libc.string cimport memchr

cdef enum:
    CLUSTER_SLOTS = 16384
    SLOT_TAG_MAX = 5  # 4 characters cover every slot, and a NUL

cdef char slot_tag_table[CLUSTER_SLOTS][SLOT_TAG_MAX]
cdef bint slot_tags_built = False
cdef const char *TAG_ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyz"


cdef uint16_t crc16_xmodem(const char *s, size_t n) noexcept nogil:
    cdef uint16_t crc = 0
    cdef size_t i
    cdef int bit
    for i in range(n):
        crc ^= <uint16_t>(<unsigned char>s[i]) << 8
        for bit in range(8):
            crc = <uint16_t>((crc << 1) ^ 0x1021) if crc & 0x8000 else <uint16_t>(crc << 1)
    return crc


cdef int key_slot(const char *key, size_t n) noexcept nogil:
    """The cluster slot of a key: its hash tag's (the text between the first `{` and the next
    `}`, when not empty), else the whole key's."""
    cdef const char *open_ = <const char *>memchr(key, b'{', n)
    cdef const char *close
    if open_ != NULL:
        close = <const char *>memchr(open_ + 1, b'}', n - (open_ + 1 - key))
        if close != NULL and close > open_ + 1:
            return crc16_xmodem(open_ + 1, close - open_ - 1) & (CLUSTER_SLOTS - 1)
    return crc16_xmodem(key, n) & (CLUSTER_SLOTS - 1)


cdef void build_slot_tags() noexcept nogil:
    """Strings of 1, 2, 3 then 4 characters in order, each slot keeping the first that lands in it."""
    global slot_tags_built
    cdef char s[SLOT_TAG_MAX]
    cdef int length, k, slot, left = CLUSTER_SLOTS
    cdef long long code, count, c
    for slot in range(CLUSTER_SLOTS):
        slot_tag_table[slot][0] = 0
    length = 1
    count = 36
    while left > 0 and length < SLOT_TAG_MAX:
        for code in range(count):
            c = code
            for k in range(length):
                s[k] = TAG_ALPHABET[c % 36]
                c //= 36
            slot = crc16_xmodem(s, length) & (CLUSTER_SLOTS - 1)
            if slot_tag_table[slot][0] == 0:
                for k in range(length):
                    slot_tag_table[slot][k] = s[k]
                slot_tag_table[slot][length] = 0
                left -= 1
        length += 1
        count *= 36
    slot_tags_built = True


cdef const char *slot_tag(int slot) noexcept nogil:
    """A short hash tag whose slot is `slot` (main thread: the table is built on first use)."""
    if not slot_tags_built:
        build_slot_tags()
    return slot_tag_table[slot]
