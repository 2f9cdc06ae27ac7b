package battle;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * Raw BSON to the suite's compact JSON, byte for byte what the Python servers send (orjson, or
 * json.dumps with separators=(",", ":") and ensure_ascii=False): no spaces, keys in stored
 * order, strings as UTF-8 with only '"', '\\' and control characters escaped (\n \r \t \b \f,
 * the rest as lowercase \\u00XX), integers as integers, doubles as Python's repr (PyFloat).
 * Document.toJson() gives none of that (spaces, extended JSON).
 *
 * <p>It walks the document's bytes as the driver received them (a RawBsonDocument), copying
 * string bytes straight through, so a read costs one pass and no Java objects per field. The
 * types are the ones JSON has: double, string, document, array, boolean, null, int32, int64;
 * an ObjectId is written as its hex string (the suite's documents hold none). Any other type
 * is an error (the request is answered 500), as a Python server's encoder would refuse it.
 */
final class BsonJson {
    private BsonJson() {}

    static final class UnsupportedType extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UnsupportedType(int type) {
            super(String.format("BSON type 0x%02x has no JSON form here", type));
        }
    }

    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TRUE = {'t', 'r', 'u', 'e'};
    private static final byte[] FALSE = {'f', 'a', 'l', 's', 'e'};
    private static final byte[] NULL = {'n', 'u', 'l', 'l'};

    /** Writes the document at bytes[offset..] (its int32 length first) as a JSON object. */
    static void write(byte[] bytes, int offset, ByteBuf out) {
        container(bytes, offset, out, false);
    }

    private static int int32(byte[] b, int i) {
        return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | b[i + 3] << 24;
    }

    private static long int64(byte[] b, int i) {
        return (int32(b, i) & 0xffffffffL) | ((long) int32(b, i + 4)) << 32;
    }

    /** Writes the document or array starting at i; returns the index just past it. */
    private static int container(byte[] b, int start, ByteBuf out, boolean array) {
        int end = start + int32(b, start);
        int i = start + 4;
        out.writeByte(array ? '[' : '{');
        boolean first = true;
        while (i < end - 1) {
            int type = b[i++] & 0xff;
            if (type == 0) {
                break;
            }
            int nameStart = i;
            while (b[i] != 0) {
                i++;
            }
            int nameEnd = i++;
            if (!first) {
                out.writeByte(',');
            }
            first = false;
            if (!array) {
                string(b, nameStart, nameEnd, out);
                out.writeByte(':');
            }
            switch (type) {
                case 0x01: // double
                    writeAscii(out, PyFloat.repr(Double.longBitsToDouble(int64(b, i))));
                    i += 8;
                    break;
                case 0x02: { // string: int32 length (with its NUL), bytes, NUL
                    int length = int32(b, i);
                    string(b, i + 4, i + 4 + length - 1, out);
                    i += 4 + length;
                    break;
                }
                case 0x03: // document
                    i = container(b, i, out, false);
                    break;
                case 0x04: // array
                    i = container(b, i, out, true);
                    break;
                case 0x07: // ObjectId: its hex string
                    out.writeByte('"');
                    for (int k = 0; k < 12; k++) {
                        out.writeByte(HEX[(b[i + k] >> 4) & 0xf]);
                        out.writeByte(HEX[b[i + k] & 0xf]);
                    }
                    out.writeByte('"');
                    i += 12;
                    break;
                case 0x08: // boolean
                    out.writeBytes(b[i++] != 0 ? TRUE : FALSE);
                    break;
                case 0x0A: // null
                    out.writeBytes(NULL);
                    break;
                case 0x10: // int32
                    writeAscii(out, Integer.toString(int32(b, i)));
                    i += 4;
                    break;
                case 0x12: // int64
                    writeAscii(out, Long.toString(int64(b, i)));
                    i += 8;
                    break;
                default:
                    throw new UnsupportedType(type);
            }
        }
        out.writeByte(array ? ']' : '}');
        return end;
    }

    private static void writeAscii(ByteBuf out, String s) {
        for (int k = 0; k < s.length(); k++) {
            out.writeByte(s.charAt(k));
        }
    }

    /** A JSON string of the UTF-8 bytes b[from..to): runs without escapes copied at once. */
    private static void string(byte[] b, int from, int to, ByteBuf out) {
        out.writeByte('"');
        int run = from;
        for (int i = from; i < to; i++) {
            int c = b[i] & 0xff;
            if (c >= 0x20 && c != '"' && c != '\\') {
                continue;
            }
            out.writeBytes(b, run, i - run);
            run = i + 1;
            out.writeByte('\\');
            switch (c) {
                case '"': out.writeByte('"'); break;
                case '\\': out.writeByte('\\'); break;
                case '\n': out.writeByte('n'); break;
                case '\r': out.writeByte('r'); break;
                case '\t': out.writeByte('t'); break;
                case '\b': out.writeByte('b'); break;
                case '\f': out.writeByte('f'); break;
                default:
                    out.writeByte('u').writeByte('0').writeByte('0');
                    out.writeByte(HEX[c >> 4]).writeByte(HEX[c & 0xf]);
            }
        }
        out.writeBytes(b, run, to - run);
        out.writeByte('"');
    }

    /** A Java string as a JSON string (for the few bodies built here: /health). */
    static String quote(String s) {
        StringBuilder out = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                case '\b': out.append("\\b"); break;
                case '\f': out.append("\\f"); break;
                default:
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        return out.append('"').toString();
    }
}
