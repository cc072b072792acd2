namespace Microscope.Engine.Models.Zoo;

/// <summary>AlexNet trained on Places365 (CSAIL, deploy_alexnet_places365.prototxt): the
/// Caffe AlexNet layout with 365 classes, pooling before normalisation.</summary>
public sealed class AlexNetPlaces365 : AlexNet
{
    /// <summary>Places365-standard: 365 scene categories.</summary>
    public const int ClassCount = 365;

    public AlexNetPlaces365() : base("alexnet_places365", "Places365", ClassCount, normBeforePool: false) { }
}
