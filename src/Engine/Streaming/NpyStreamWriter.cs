using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using HeteroBatch.Engine.Errors;
using HeteroBatch.Engine.Execution;
using HeteroBatch.Engine.Inputs;

namespace HeteroBatch.Engine.Streaming;

/// <summary>
/// A float32 .npy of shape [rows, ...item] written row block by row block. The header has a fixed size (room for
/// any row count), and after every <see cref="Append"/> the rows are flushed first and the header's row count
/// second, so the file on disk is a valid .npy of the rows done at every moment: after Ctrl+C, and after a crash
/// the header never counts rows that are not there (bytes past them are cut off by <see cref="OpenForResume"/>).
/// </summary>
public sealed class NpyStreamWriter : IDisposable
{
    private const int HeaderBytes = 128;
    private readonly FileStream _stream;
    private readonly int[] _itemShape;
    private readonly int _perItem;

    private NpyStreamWriter(FileStream stream, int[] itemShape, long rows)
    {
        _stream = stream;
        _itemShape = itemShape;
        _perItem = itemShape.Aggregate(1, (a, b) => checked(a * b));
        Rows = rows;
    }

    /// <summary>Rows written (and counted by the header on disk).</summary>
    public long Rows { get; private set; }
    /// <summary>Full path of the file.</summary>
    public string Path => _stream.Name;

    /// <summary>Creates (or replaces) <paramref name="path"/> as an empty [0, ...item] .npy. Throws OutputWriteFailed.</summary>
    public static NpyStreamWriter Create(string path, int[] itemShape)
    {
        var full = System.IO.Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
            var stream = new FileStream(full, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
            var writer = new NpyStreamWriter(stream, (int[])itemShape.Clone(), 0);
            writer.WriteHeader();
            stream.Flush(flushToDisk: false);
            return writer;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw WriteFailed(full, e);
        }
    }

    /// <summary>
    /// Rows already in <paramref name="path"/> (0 when it does not exist), checked against <paramref name="itemShape"/>
    /// when it is given. Throws ResumeMismatch, NpyFormatInvalid.
    /// </summary>
    public static long ExistingRows(string path, out int[]? itemShape)
    {
        itemShape = null;
        if (!File.Exists(path)) return 0;
        var header = NpyFile.ReadHeader(path);
        NpyFile.RequireFloat32(header, path);
        if (header.Shape.Length < 1)
            throw new HeteroBatchException(StreamingErrorIds.ResumeMismatch, ErrorKind.InvalidData,
                $"'{path}' holds a scalar, not rows of outputs; give -OutputPath a new file, or leave out -Resume to replace it.", path);
        itemShape = header.Shape[1..];
        return header.Shape[0];
    }

    /// <summary>
    /// Opens <paramref name="path"/> to append after its rows; bytes past the rows its header counts (a crash
    /// between a block and its header update) are cut off. Throws ResumeMismatch when its items are not <paramref name="itemShape"/>.
    /// </summary>
    public static NpyStreamWriter OpenForResume(string path, int[] itemShape)
    {
        var full = System.IO.Path.GetFullPath(path);
        var header = NpyFile.ReadHeader(full);
        NpyFile.RequireFloat32(header, full);
        if (header.Shape.Length != itemShape.Length + 1 || !header.Shape[1..].SequenceEqual(itemShape))
            throw new HeteroBatchException(StreamingErrorIds.ResumeMismatch, ErrorKind.InvalidData,
                $"'{full}' holds items of shape [{string.Join(",", header.Shape.Skip(1))}], but this model outputs [{string.Join(",", itemShape)}]: it is another run's output. " +
                "Give -OutputPath a new file, or leave out -Resume to replace it.", full);
        if (header.DataOffset != HeaderBytes)
            throw new HeteroBatchException(StreamingErrorIds.ResumeMismatch, ErrorKind.InvalidData,
                $"'{full}' was not written by Invoke-HeteroDataset (its header is {header.DataOffset} bytes, not {HeaderBytes}); it cannot be extended in place. " +
                "Give -OutputPath a new file, or leave out -Resume to replace it.", full);
        try
        {
            var stream = new FileStream(full, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
            var writer = new NpyStreamWriter(stream, (int[])itemShape.Clone(), header.Shape[0]);
            long end = HeaderBytes + writer.Rows * writer._perItem * sizeof(float);
            if (stream.Length < end)
            {
                stream.Dispose();
                throw new HeteroBatchException(ExecutionErrorIds.NpyFormatInvalid, ErrorKind.InvalidData,
                    $"'{full}' is cut short: its header counts {writer.Rows} rows but the data ends early. Leave out -Resume to start again.", full);
            }
            if (stream.Length > end) stream.SetLength(end);
            stream.Position = end;
            return writer;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw WriteFailed(full, e);
        }
    }

    /// <summary>Appends rows (a whole number of items) and then counts them in the header. Throws OutputWriteFailed.</summary>
    public void Append(ReadOnlySpan<float> rows)
    {
        if (rows.Length % _perItem != 0) throw new ArgumentException($"{rows.Length} values are not whole items of {_perItem}.", nameof(rows));
        try
        {
            _stream.Position = HeaderBytes + Rows * _perItem * sizeof(float);
            _stream.Write(MemoryMarshal.AsBytes(rows));
            _stream.Flush(flushToDisk: false);
            Rows += rows.Length / _perItem;
            WriteHeader();
            _stream.Flush(flushToDisk: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw WriteFailed(_stream.Name, e);
        }
    }

    private void WriteHeader()
    {
        var shape = new[] { Rows }.Concat(_itemShape.Select(d => (long)d)).Select(d => d.ToString(CultureInfo.InvariantCulture)).ToArray();
        var shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shapeText}, }}";
        int preamble = 10; // magic (6) + version (2) + header length (2)
        if (preamble + dict.Length + 1 > HeaderBytes)
            throw new HeteroBatchException(ExecutionErrorIds.OutputWriteFailed, ErrorKind.LimitsExceeded,
                $"The output shape {shapeText} does not fit a streamed .npy header; give -Top instead of -OutputPath for this model.", shapeText);
        var bytes = new byte[HeaderBytes];
        bytes[0] = 0x93; Encoding.ASCII.GetBytes("NUMPY", 0, 5, bytes, 1);
        bytes[6] = 1; bytes[7] = 0;
        int headerLength = HeaderBytes - preamble;
        bytes[8] = (byte)(headerLength & 0xFF); bytes[9] = (byte)(headerLength >> 8);
        var text = dict.PadRight(headerLength - 1) + "\n";
        Encoding.ASCII.GetBytes(text, 0, text.Length, bytes, preamble);
        long position = _stream.Position;
        _stream.Position = 0;
        _stream.Write(bytes);
        _stream.Position = Math.Max(position, HeaderBytes);
    }

    private static HeteroBatchException WriteFailed(string path, Exception e) =>
        new(ExecutionErrorIds.OutputWriteFailed, ErrorKind.WriteError,
            $"Could not write the output '{path}': {e.Message} Check that the folder exists and is writable.", path, e);

    public void Dispose() => _stream.Dispose();
}
