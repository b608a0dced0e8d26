namespace HeteroBatch.Engine.Execution;

/// <summary>A contiguous range of the batch handed to one lane of a run (a unit of this machine, or a machine).</summary>
internal interface ILaneWork
{
    int Offset { get; }
    int Items { get; }
}
