namespace HeteroBatch.Engine.Streaming;

/// <summary>A batch the decode workers finished: its good items packed from the buffer's start, in order.</summary>
internal sealed record DecodedBatch(long FirstItem, int Count, float[] Buffer, long[] GoodItems, DatasetBadItem[] Bad, double DecodeMs);
