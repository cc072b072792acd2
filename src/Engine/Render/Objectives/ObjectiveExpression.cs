using System.Globalization;
using System.Text;

namespace Microscope.Engine.Render.Objectives;

/// <summary>One weighted term of an objective expression: a channel (<c>conv3:9</c>) or a
/// direction over an op's channels (<c>conv3@[0.5,-1,...]</c>).</summary>
public sealed record ObjectiveTerm(double Weight, string Op, int? Unit, IReadOnlyList<double>? Direction)
{
    public ObjectiveTerm Scaled(double k) => this with { Weight = Weight * k };
}

/// <summary>The objective algebra as text, for the CLI's <c>--objective</c>, the API's render
/// <c>objective</c> and the viewer's form: sums, scalar weights, negation and parentheses over
/// channels and directions, e.g. <c>conv3:9 + 0.5*conv3:17</c>, <c>-conv3:9</c>,
/// <c>0.5*(conv3:1 - conv3:2)</c>, <c>conv3@[1,0,-1,...]</c> (one number per channel of the
/// op). Every term is linear, so the expression flattens to a list of weighted terms; its
/// <see cref="Canonical"/> text (what enters the parameters hash and what pages show) writes
/// them with their weights multiplied out, in the order given.
/// Grammar: sum := product (('+'|'-') product)*; product := unary ('*' unary)* (at most one
/// factor that is not a number); unary := '-' unary | '(' sum ')' | number | term;
/// term := op ':' unit | op '@' ('[' numbers ']' | file). A file is read by the caller's
/// <c>readDirection</c> (the CLI: a JSON array of numbers); without one a file is an error.</summary>
public sealed class ObjectiveExpression
{
    public IReadOnlyList<ObjectiveTerm> Terms { get; }

    private ObjectiveExpression(IReadOnlyList<ObjectiveTerm> terms) => Terms = terms;

    /// <summary>The ops the expression reads, first-named first. The first is where a render of
    /// it is stored (its key's op).</summary>
    public IReadOnlyList<string> Ops => Terms.Select(t => t.Op).Distinct(StringComparer.Ordinal).ToList();

    public string Canonical => Format(Terms);

    public override string ToString() => Canonical;

    /// <summary>Parses <paramref name="text"/>; throws <see cref="ArgumentException"/> naming
    /// the problem and where it is.</summary>
    public static ObjectiveExpression Parse(string text, Func<string, IReadOnlyList<double>>? readDirection = null)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException("the objective is empty: give e.g. 'conv3:9 + 0.5*conv3:17'");
        if (text.Length > MaxLength) throw new ArgumentException($"the objective is {text.Length} characters long; at most {MaxLength}");
        var parser = new Parser(text, readDirection);
        var node = parser.Sum();
        parser.SkipSpace();
        if (!parser.AtEnd) throw parser.Error($"unexpected '{parser.Rest}'");
        if (node.Constant is not null) throw new ArgumentException($"the objective '{text}' names no unit: give a term such as conv3:9 or conv3@[...]");
        return new ObjectiveExpression(node.Terms);
    }

    /// <summary>Checks every term against a model: <paramref name="resolve"/> gives an op's
    /// name (an alias becomes the name) and channel count, or throws naming the op. Returns the
    /// expression with resolved op names; throws naming every problem.</summary>
    public ObjectiveExpression Bind(Func<string, (string Name, int Channels)> resolve)
    {
        var problems = new List<string>();
        var bound = new List<ObjectiveTerm>();
        foreach (var t in Terms)
        {
            (string Name, int Channels) op;
            try { op = resolve(t.Op); }
            catch (Exception e) when (e is ArgumentException or KeyNotFoundException or InvalidOperationException) { problems.Add(e.Message); continue; }
            if (t.Unit is int u && (u < 0 || u >= op.Channels)) problems.Add($"op '{op.Name}' has units 0..{op.Channels - 1}; {u} is out of range");
            if (t.Direction is { } d && d.Count != op.Channels) problems.Add($"the direction over '{op.Name}' has {d.Count} numbers; the op has {op.Channels} channels");
            bound.Add(t with { Op = op.Name });
        }
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems.Distinct()));
        return new ObjectiveExpression(bound);
    }

    /// <summary>The engine's objective: the sum of the weighted channel and direction
    /// objectives, described by the canonical text.</summary>
    public Objective Build()
    {
        Objective? sum = null;
        foreach (var t in Terms)
        {
            Objective atom = t.Unit is int u ? new ChannelObjective(t.Op, [u]) : new DirectionObjective(t.Op, t.Direction!);
            var weighted = t.Weight == 1 ? atom : t.Weight * atom;
            sum = sum is null ? weighted : sum + weighted;
        }
        return new ExpressionObjective(sum!, Canonical);
    }

    /// <summary>The longest expression text accepted: a direction over 4,096 channels written
    /// with short numbers fits; anything longer belongs in a file (CLI).</summary>
    public const int MaxLength = 65_536;

    private static string Format(IReadOnlyList<ObjectiveTerm> terms)
    {
        var s = new StringBuilder();
        foreach (var t in terms)
        {
            var w = t.Weight;
            if (s.Length == 0) s.Append(w < 0 ? "-" : "");
            else s.Append(w < 0 ? " - " : " + ");
            var abs = Math.Abs(w);
            if (abs != 1) s.Append(N(abs)).Append('*');
            s.Append(t.Op);
            if (t.Unit is int u) s.Append(':').Append(u.ToString(CultureInfo.InvariantCulture));
            else s.Append("@[").Append(string.Join(",", t.Direction!.Select(N))).Append(']');
        }
        return s.ToString();
    }

    private static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A parsed piece: a constant, or weighted terms (never both).</summary>
    private sealed record Node(double? Constant, IReadOnlyList<ObjectiveTerm> Terms)
    {
        public static Node Number(double v) => new(v, []);
        public Node Scaled(double k) => Constant is double c ? Number(c * k) : new Node(null, Terms.Select(t => t.Scaled(k)).ToList());
    }

    private sealed class Parser(string text, Func<string, IReadOnlyList<double>>? readDirection)
    {
        private int _pos;
        public bool AtEnd => _pos >= text.Length;
        public string Rest => text[_pos..].Length > 20 ? text[_pos..(_pos + 20)] + "…" : text[_pos..];

        public ArgumentException Error(string what) => new($"objective '{Short(text)}', at character {_pos + 1}: {what}");

        private static string Short(string s) => s.Length > 80 ? s[..80] + "…" : s;

        public void SkipSpace() { while (!AtEnd && char.IsWhiteSpace(text[_pos])) _pos++; }

        private bool Eat(char c)
        {
            SkipSpace();
            if (AtEnd || text[_pos] != c) return false;
            _pos++;
            return true;
        }

        public Node Sum()
        {
            var left = Product();
            while (true)
            {
                if (Eat('+')) left = Add(left, Product());
                else if (Eat('-')) left = Add(left, Product().Scaled(-1));
                else return left;
            }
        }

        private Node Add(Node a, Node b)
        {
            if (a.Constant is not null || b.Constant is not null) throw Error("a number cannot be added to an objective; weight a term instead (0.5*conv3:9)");
            return new Node(null, [.. a.Terms, .. b.Terms]);
        }

        private Node Product()
        {
            var left = Unary();
            while (Eat('*'))
            {
                var right = Unary();
                if (left.Constant is double a) left = right.Scaled(a);
                else if (right.Constant is double b) left = left.Scaled(b);
                else throw Error("two objectives cannot be multiplied; only a number can weight an objective");
            }
            return left;
        }

        private Node Unary()
        {
            SkipSpace();
            if (Eat('-')) return Unary().Scaled(-1);
            if (Eat('+')) return Unary();
            if (Eat('('))
            {
                var inner = Sum();
                if (!Eat(')')) throw Error("missing ')'");
                return inner;
            }
            if (AtEnd) throw Error("the expression ends where a term or a number should be");
            var c = text[_pos];
            if (char.IsDigit(c) || c == '.') return Node.Number(Number());
            if (char.IsLetter(c) || c == '_') return new Node(null, [Term()]);
            throw Error($"unexpected '{c}': expected a term such as conv3:9, a number or '('");
        }

        private double Number()
        {
            SkipSpace();
            var start = _pos;
            while (!AtEnd && (char.IsDigit(text[_pos]) || text[_pos] is '.' or 'e' or 'E' ||
                              (text[_pos] is '+' or '-' && _pos > start && text[_pos - 1] is 'e' or 'E'))) _pos++;
            var s = text[start.._pos];
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
            {
                _pos = start;
                throw Error($"'{s}' is not a number");
            }
            return v;
        }

        private ObjectiveTerm Term()
        {
            var start = _pos;
            // Op names: letters, digits, '_', '/', '.' (ResNetV2's "block2/unit_3/add", ONNX names).
            while (!AtEnd && (char.IsLetterOrDigit(text[_pos]) || text[_pos] is '_' or '/' or '.')) _pos++;
            var op = text[start.._pos];
            if (Eat(':'))
            {
                SkipSpace();
                var u = _pos;
                while (!AtEnd && char.IsDigit(text[_pos])) _pos++;
                if (u == _pos || !int.TryParse(text[u.._pos], NumberStyles.None, CultureInfo.InvariantCulture, out var unit))
                    throw Error($"'{op}:' needs a unit number (e.g. {op}:9)");
                return new ObjectiveTerm(1, op, unit, null);
            }
            if (Eat('@'))
            {
                SkipSpace();
                if (Eat('['))
                {
                    var values = new List<double>();
                    if (!Eat(']'))
                    {
                        do
                        {
                            SkipSpace();
                            var negative = Eat('-');
                            values.Add((negative ? -1 : 1) * Number());
                        } while (Eat(','));
                        if (!Eat(']')) throw Error("a direction's list needs ',' between numbers and a closing ']'");
                    }
                    return Direction(op, values);
                }
                var p = _pos;
                while (!AtEnd && !char.IsWhiteSpace(text[_pos]) && text[_pos] is not ')' and not '+') _pos++;
                var file = text[p.._pos];
                if (file.Length == 0) throw Error($"'{op}@' needs a direction: [n0,n1,...] (one number per channel) or a file");
                if (readDirection is null) throw Error($"direction files ('{file}') are read by the command line only; give the numbers inline: {op}@[n0,n1,...]");
                IReadOnlyList<double> read;
                try { read = readDirection(file); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or System.Text.Json.JsonException or InvalidOperationException)
                { throw Error($"cannot read the direction file '{file}': {e.Message}"); }
                return Direction(op, read);
            }
            throw Error(op.Length == 0 ? "expected an op name" : $"'{op}' needs a unit ({op}:9) or a direction ({op}@[...])");
        }

        private ObjectiveTerm Direction(string op, IReadOnlyList<double> values)
        {
            if (values.Count == 0) throw Error($"the direction over '{op}' is empty");
            if (values.Any(v => !double.IsFinite(v))) throw Error($"the direction over '{op}' holds a value that is not a finite number");
            if (values.All(v => v == 0)) throw Error($"the direction over '{op}' is all zeros");
            return new ObjectiveTerm(1, op, null, values);
        }
    }
}

/// <summary>An expression's objective: the built sum, described by the expression's canonical text.</summary>
public sealed class ExpressionObjective(Objective inner, string text) : Objective
{
    public override IReadOnlyCollection<string> Ops => inner.Ops;
    public override Torch.Tensor Evaluate(IReadOnlyDictionary<string, Torch.Tensor> activations) => inner.Evaluate(activations);
    public override string Describe() => text;
}
