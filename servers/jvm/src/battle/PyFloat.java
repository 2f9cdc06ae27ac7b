package battle;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * A double as Python's repr() writes it (and so json.dumps, the suite's canonical bytes):
 * the shortest decimal that reads back as the same double, the closest one when several
 * have that length; fixed notation for decimal exponents -4 to 15 ("-45.123456", "1.0",
 * "0.0001", "1000000000000000.0"), scientific outside it ("1e-05", "1.5e+16"). Java 17's
 * Double.toString is neither always shortest (JDK-4511638, fixed in JDK 19) nor in this
 * format.
 *
 * <p>The fast path is exact: for k decimal places and an integer m below 2^53, m / 10^k in
 * double arithmetic (both operands exact, one correctly rounded division) is precisely the
 * double the decimal string "m e-k" parses to, so the first k at which some m reads back as
 * the value gives the fewest digits. Anything the fast path cannot decide (large or tiny
 * magnitudes, 17 significant digits with a big integer part) takes BigDecimal, also exact.
 */
final class PyFloat {
    private PyFloat() {}

    private static final double[] POW10 = new double[23];   // 10^0 .. 10^22, all exact doubles
    private static final long[] LPOW10 = new long[19];

    static {
        double p = 1;
        for (int i = 0; i < POW10.length; i++) {
            POW10[i] = p;
            p *= 10;
        }
        long q = 1;
        for (int i = 0; i < LPOW10.length; i++) {
            LPOW10[i] = q;
            q *= 10;
        }
    }

    private static final double TWO53 = 9007199254740992.0;

    /** Python's repr(value). NaN and the infinities as json.dumps writes them. */
    static String repr(double value) {
        if (Double.isNaN(value)) {
            return "NaN";
        }
        if (Double.isInfinite(value)) {
            return value > 0 ? "Infinity" : "-Infinity";
        }
        if (value == 0) {
            return (Double.doubleToRawLongBits(value) < 0) ? "-0.0" : "0.0";
        }
        boolean negative = value < 0;
        double a = Math.abs(value);
        // digits (no leading or trailing zeros) and decpt: a = 0.digits * 10^decpt
        String digits = null;
        int decpt = 0;
        if (a >= 1e-4 && a < 1e15) {
            for (int k = 0; k < POW10.length; k++) {
                double scaled = a * POW10[k];
                if (scaled >= TWO53) {
                    break;
                }
                long m = (long) Math.rint(scaled);
                long found = -1;
                int hits = 0;
                for (long c = Math.max(m - 1, 1); c <= m + 1; c++) {
                    if (c < TWO53 && (double) c / POW10[k] == a) {
                        if (hits == 0) {
                            found = c;
                        }
                        hits++;
                    }
                }
                if (hits == 1) {
                    String s = Long.toString(found);
                    int end = s.length();
                    while (end > 1 && s.charAt(end - 1) == '0') {
                        end--;
                    }
                    decpt = s.length() - k;
                    digits = s.substring(0, end);
                    break;
                }
                if (hits > 1) {
                    break;   // two of this length read back: BigDecimal picks the closest
                }
            }
        }
        if (digits == null) {
            BigDecimal shortest = shortest(a);
            String unscaled = shortest.unscaledValue().toString();
            int end = unscaled.length();
            while (end > 1 && unscaled.charAt(end - 1) == '0') {
                end--;
            }
            digits = unscaled.substring(0, end);
            decpt = unscaled.length() - shortest.scale();
        }
        return format(negative, digits, decpt);
    }

    /** The shortest decimal that parses to a (positive, finite), the closest among equals. */
    private static BigDecimal shortest(double a) {
        BigDecimal exact = new BigDecimal(a);
        for (int precision = 1; precision <= 17; precision++) {
            BigDecimal rounded = exact.round(new MathContext(precision, RoundingMode.HALF_EVEN));
            if (Double.parseDouble(rounded.toString()) == a) {
                return rounded;
            }
            // At a power of two the interval that reads back is lopsided: the closest decimal
            // of this length can miss while a neighbour on the wider side still hits.
            BigDecimal step = rounded.ulp();
            BigDecimal up = rounded.add(step), down = rounded.subtract(step);
            boolean upHits = Double.parseDouble(up.toString()) == a;
            boolean downHits = down.signum() > 0 && Double.parseDouble(down.toString()) == a;
            if (upHits && downHits) {
                return up.subtract(exact).abs().compareTo(exact.subtract(down).abs()) <= 0
                        ? up : down;
            }
            if (upHits) {
                return up;
            }
            if (downHits) {
                return down;
            }
        }
        return exact.round(new MathContext(17, RoundingMode.HALF_EVEN));
    }

    /** CPython's format_float_short for repr: digits d1d2.. with a = 0.d1d2.. * 10^decpt. */
    private static String format(boolean negative, String digits, int decpt) {
        StringBuilder out = new StringBuilder(digits.length() + 8);
        if (negative) {
            out.append('-');
        }
        int n = digits.length();
        if (decpt <= -4 || decpt > 16) {
            out.append(digits.charAt(0));
            if (n > 1) {
                out.append('.').append(digits, 1, n);
            }
            int exp = decpt - 1;
            out.append('e').append(exp < 0 ? '-' : '+');
            int absExp = Math.abs(exp);
            if (absExp < 10) {
                out.append('0');
            }
            out.append(absExp);
        } else if (decpt <= 0) {
            out.append("0.");
            for (int i = 0; i < -decpt; i++) {
                out.append('0');
            }
            out.append(digits);
        } else if (decpt < n) {
            out.append(digits, 0, decpt).append('.').append(digits, decpt, n);
        } else {
            out.append(digits);
            for (int i = n; i < decpt; i++) {
                out.append('0');
            }
            out.append(".0");
        }
        return out.toString();
    }

    /** A self-check: `java -cp classes battle.PyFloat <bits as hex>...` prints repr of each. */
    public static void main(String[] args) {
        for (String arg : args) {
            System.out.println(repr(Double.longBitsToDouble(Long.parseUnsignedLong(arg, 16))));
        }
    }
}
