package battle;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.bson.BsonArray;
import org.bson.BsonBoolean;
import org.bson.BsonDocument;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonMinKey;
import org.bson.BsonNull;
import org.bson.BsonString;
import org.bson.BsonValue;

/**
 * What a POST /items body asks to insert, by the rules of servers/common.py parse_item: at
 * most 16 KiB of strict JSON (RFC 8259, UTF-8) whose value is an object without "_id", nested
 * at most 32 deep, integers within int64, keys without NUL or a leading "$". Anything else is
 * null, answered 400 with nothing inserted.
 *
 * <p>A parser of its own rather than org.bson's JsonReader or Document.parse, which read
 * MongoDB's extended JSON (unquoted keys, single quotes, {"$oid": ...}, NaN) and so accept
 * bodies the Python servers refuse. It parses as orjson (the Python servers' parser) does:
 * no NaN or Infinity, no byte order mark, no lone surrogates, no control characters in
 * strings, a number too large for a double is an error, an integer beyond 64 bits becomes a
 * double while one between 2^63 and 2^64-1 stays an integer (and is then refused as beyond
 * int64), and a repeated key keeps its first position with the last value (a Python dict).
 * Integers are stored as int32 where they fit and int64 otherwise, as PyMongo encodes them.
 */
final class ItemParser {
    static final int MAX_ITEM_BYTES = 16 * 1024;
    static final int MAX_ITEM_DEPTH = 32;
    private static final int MAX_PARSE_DEPTH = 1024;   // orjson's limit

    /** An integer orjson keeps as one but BSON cannot hold (2^63 .. 2^64-1). */
    private static final BsonValue BEYOND_INT64 = new BsonMinKey();

    static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;

        Invalid() {
            super(null, null, false, false);
        }
    }

    private static final Invalid INVALID = new Invalid();

    private final String text;
    private int pos;

    private ItemParser(String text) {
        this.text = text;
    }

    /** The document to insert, or null when the body is not one that may be stored. */
    static BsonDocument parse(byte[] body) {
        if (body.length > MAX_ITEM_BYTES) {
            return null;
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
        ItemParser parser = new ItemParser(text);
        BsonValue value;
        try {
            parser.skipWhitespace();
            value = parser.value(0);
            parser.skipWhitespace();
            if (parser.pos != text.length()) {
                return null;
            }
        } catch (Invalid e) {
            return null;
        }
        if (!(value instanceof BsonDocument)) {
            return null;
        }
        BsonDocument item = (BsonDocument) value;
        if (item.containsKey("_id") || !storable(item, MAX_ITEM_DEPTH)) {
            return null;
        }
        return item;
    }

    /** servers/common.py _storable, on the parsed value (after repeated keys were merged). */
    private static boolean storable(BsonValue value, int depth) {
        if (value == BEYOND_INT64) {
            return false;
        }
        if (value instanceof BsonDocument) {
            if (depth <= 0) {
                return false;
            }
            for (Map.Entry<String, BsonValue> entry : ((BsonDocument) value).entrySet()) {
                String key = entry.getKey();
                if (key.indexOf('\0') >= 0 || key.startsWith("$")
                        || !storable(entry.getValue(), depth - 1)) {
                    return false;
                }
            }
            return true;
        }
        if (value instanceof BsonArray) {
            if (depth <= 0) {
                return false;
            }
            for (BsonValue element : (BsonArray) value) {
                if (!storable(element, depth - 1)) {
                    return false;
                }
            }
        }
        return true;
    }

    private void skipWhitespace() {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            pos++;
        }
    }

    private char peek() throws Invalid {
        if (pos >= text.length()) {
            throw INVALID;
        }
        return text.charAt(pos);
    }

    private void expect(String word) throws Invalid {
        if (!text.startsWith(word, pos)) {
            throw INVALID;
        }
        pos += word.length();
    }

    private BsonValue value(int depth) throws Invalid {
        char c = peek();
        switch (c) {
            case '{':
                return object(depth + 1);
            case '[':
                return array(depth + 1);
            case '"':
                return new BsonString(string());
            case 't':
                expect("true");
                return BsonBoolean.TRUE;
            case 'f':
                expect("false");
                return BsonBoolean.FALSE;
            case 'n':
                expect("null");
                return BsonNull.VALUE;
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return number();
                }
                throw INVALID;
        }
    }

    private BsonDocument object(int depth) throws Invalid {
        if (depth > MAX_PARSE_DEPTH) {
            throw INVALID;
        }
        pos++; // {
        BsonDocument document = new BsonDocument();
        skipWhitespace();
        if (peek() == '}') {
            pos++;
            return document;
        }
        while (true) {
            skipWhitespace();
            if (peek() != '"') {
                throw INVALID;
            }
            String key = string();
            if (key.indexOf('\0') >= 0) {
                throw INVALID;   // never storable, and BsonDocument refuses such a key
            }
            skipWhitespace();
            if (peek() != ':') {
                throw INVALID;
            }
            pos++;
            skipWhitespace();
            document.put(key, value(depth));   // a repeated key: first position, last value
            skipWhitespace();
            char c = peek();
            pos++;
            if (c == '}') {
                return document;
            }
            if (c != ',') {
                throw INVALID;
            }
        }
    }

    private BsonArray array(int depth) throws Invalid {
        if (depth > MAX_PARSE_DEPTH) {
            throw INVALID;
        }
        pos++; // [
        BsonArray array = new BsonArray();
        skipWhitespace();
        if (peek() == ']') {
            pos++;
            return array;
        }
        while (true) {
            skipWhitespace();
            array.add(value(depth));
            skipWhitespace();
            char c = peek();
            pos++;
            if (c == ']') {
                return array;
            }
            if (c != ',') {
                throw INVALID;
            }
        }
    }

    private String string() throws Invalid {
        pos++; // opening quote
        StringBuilder out = null;
        int run = pos;
        while (true) {
            char c = peek();
            if (c == '"') {
                String s = out == null ? text.substring(run, pos)
                        : out.append(text, run, pos).toString();
                pos++;
                return s;
            }
            if (c < 0x20) {
                throw INVALID;
            }
            if (c != '\\') {
                // Decoded UTF-8 holds surrogates only in valid pairs.
                pos++;
                continue;
            }
            if (out == null) {
                out = new StringBuilder();
            }
            out.append(text, run, pos);
            pos++;
            char e = peek();
            pos++;
            switch (e) {
                case '"': out.append('"'); break;
                case '\\': out.append('\\'); break;
                case '/': out.append('/'); break;
                case 'b': out.append('\b'); break;
                case 'f': out.append('\f'); break;
                case 'n': out.append('\n'); break;
                case 'r': out.append('\r'); break;
                case 't': out.append('\t'); break;
                case 'u': {
                    char u = hex4();
                    if (Character.isHighSurrogate(u)) {
                        if (!text.startsWith("\\u", pos)) {
                            throw INVALID;
                        }
                        pos += 2;
                        char low = hex4();
                        if (!Character.isLowSurrogate(low)) {
                            throw INVALID;
                        }
                        out.append(u).append(low);
                    } else if (Character.isLowSurrogate(u)) {
                        throw INVALID;
                    } else {
                        out.append(u);
                    }
                    break;
                }
                default:
                    throw INVALID;
            }
            run = pos;
        }
    }

    private char hex4() throws Invalid {
        if (pos + 4 > text.length()) {
            throw INVALID;
        }
        int v = 0;
        for (int k = 0; k < 4; k++) {
            char h = text.charAt(pos + k);
            int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
            if (d < 0) {
                throw INVALID;
            }
            v = v << 4 | d;
        }
        pos += 4;
        return (char) v;
    }

    private boolean digitAt(int i) {
        return i < text.length() && text.charAt(i) >= '0' && text.charAt(i) <= '9';
    }

    private BsonValue number() throws Invalid {
        int start = pos;
        if (text.charAt(pos) == '-') {
            pos++;
        }
        if (!digitAt(pos)) {
            throw INVALID;
        }
        if (text.charAt(pos) == '0') {
            pos++;
            if (digitAt(pos)) {
                throw INVALID;   // a leading zero
            }
        } else {
            while (digitAt(pos)) {
                pos++;
            }
        }
        boolean integer = true;
        if (pos < text.length() && text.charAt(pos) == '.') {
            integer = false;
            pos++;
            if (!digitAt(pos)) {
                throw INVALID;
            }
            while (digitAt(pos)) {
                pos++;
            }
        }
        if (pos < text.length() && (text.charAt(pos) == 'e' || text.charAt(pos) == 'E')) {
            integer = false;
            pos++;
            if (pos < text.length() && (text.charAt(pos) == '+' || text.charAt(pos) == '-')) {
                pos++;
            }
            if (!digitAt(pos)) {
                throw INVALID;
            }
            while (digitAt(pos)) {
                pos++;
            }
        }
        String literal = text.substring(start, pos);
        if (integer) {
            boolean negative = literal.charAt(0) == '-';
            int digits = literal.length() - (negative ? 1 : 0);
            if (digits <= 18) {
                long v = Long.parseLong(literal);
                return (v == (int) v) ? new BsonInt32((int) v) : new BsonInt64(v);
            }
            if (digits <= 20) {
                java.math.BigInteger big = new java.math.BigInteger(literal);
                if (big.bitLength() <= 63) {
                    return new BsonInt64(big.longValue());
                }
                if (!negative && big.bitLength() <= 64) {
                    return BEYOND_INT64;
                }
            }
        }
        double d = Double.parseDouble(literal);
        if (Double.isInfinite(d)) {
            throw INVALID;
        }
        return new BsonDouble(d);
    }

    /** For tests: `java -cp ... battle.ItemParser '<json>'` prints the document or "null". */
    public static void main(String[] args) {
        for (String arg : args) {
            BsonDocument doc = parse(arg.getBytes(StandardCharsets.UTF_8));
            System.out.println(doc == null ? "null" : doc.toJson());
        }
    }
}
